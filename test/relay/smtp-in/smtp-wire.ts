// A raw SMTP client over a plain socket, for protocol edge cases no well-behaved client produces
// (smuggling sequences, source routes, overlong lines). Replies are read whole: a multi-line reply
// comes back as one string with its lines joined by "\n".
import { connect, type Socket } from "node:net";

export class SmtpWire {
  readonly #socket: Socket;
  #buffer = "";
  #lines: string[] = [];
  readonly #replies: string[] = [];
  readonly #waiting: ((reply: string) => void)[] = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (data: string) => this.#onData(data));
    socket.on("close", () => {
      this.#closed = true;
      for (const resolve of this.#waiting.splice(0)) resolve("(closed)");
    });
    socket.on("error", () => {});
  }

  /** Connects and waits for the greeting. */
  static async open(port: number): Promise<{ wire: SmtpWire; greeting: string }> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const wire = new SmtpWire(socket);
    return { wire, greeting: await wire.reply() };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The next reply from the server ("(closed)" once the connection is gone). */
  reply(): Promise<string> {
    const ready = this.#replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.resolve("(closed)");
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  write(data: string | Buffer): void {
    this.#socket.write(data);
  }

  /** Sends one command line and returns its reply. */
  command(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** EHLO, MAIL FROM and the given RCPT TOs, returning the RCPT replies. */
  async envelope(from: string, recipients: string[]): Promise<string[]> {
    await this.command("EHLO client.test");
    const mail = await this.command(`MAIL FROM:<${from}>`);
    if (!mail.startsWith("250")) throw new Error(`MAIL FROM refused: ${mail}`);
    const replies: string[] = [];
    for (const r of recipients) replies.push(await this.command(`RCPT TO:${r.startsWith("<") ? r : `<${r}>`}`));
    return replies;
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(data: string): void {
    this.#buffer += data;
    let i: number;
    while ((i = this.#buffer.indexOf("\r\n")) !== -1) {
      const line = this.#buffer.slice(0, i);
      this.#buffer = this.#buffer.slice(i + 2);
      this.#lines.push(line);
      // "250-…" continues a reply, "250 …" (or a bare code) ends it.
      if (/^\d{3}(?: |$)/.test(line)) {
        const reply = this.#lines.join("\n");
        this.#lines = [];
        const resolve = this.#waiting.shift();
        if (resolve) resolve(reply);
        else this.#replies.push(reply);
      }
    }
  }
}
