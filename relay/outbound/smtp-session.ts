// One SMTP client session with a destination server, on nodemailer's SMTPConnection, as promises. It
// applies the target's TLS policy (see settings.ts), logs in when the hop has AUTH, and sends one
// message per call; the pool keeps it open between mails. Failures are nodemailer's errors (`code`,
// `response`, `responseCode`, `command`), which classify.ts reads.
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import SMTPConnection, { type SMTPConnectionOptions } from "nodemailer/lib/smtp-connection";
import type { PooledResource } from "./connection-pool.ts";
import type { Target } from "./resolve.ts";

export interface SessionSettings {
  readonly heloName: string;
  readonly connectTimeoutMs: number;
  /** Greeting, EHLO and the TLS handshake. */
  readonly greetingTimeoutMs: number;
  /** Silence allowed while waiting for any reply. */
  readonly commandTimeoutMs: number;
  /** CAs trusted where the policy checks certificates; undefined: the system's. */
  readonly ca: readonly string[] | undefined;
}

export interface Envelope {
  /** "" for the null sender (bounces). */
  readonly from: string;
  readonly to: string;
  readonly size: number;
  /** The message has 8-bit bytes: declare BODY=8BITMIME where the server supports it. */
  readonly eightBit: boolean;
}

/** How long QUIT may take before the socket is simply closed. */
/** A RSET not answered within this (or the command timeout, if shorter) is a dead session. */
const RESET_TIMEOUT_MS = 10_000;
const QUIT_GRACE_MS = 1000;

export class SmtpSession implements PooledResource {
  readonly #connection: SMTPConnection;
  readonly #resetTimeoutMs: number;
  #ended = false;

  private constructor(connection: SMTPConnection, commandTimeoutMs: number) {
    this.#connection = connection;
    this.#resetTimeoutMs = Math.min(commandTimeoutMs, RESET_TIMEOUT_MS);
    // nodemailer emits 'error' as well as failing the call in progress; without a listener an
    // EventEmitter 'error' would throw. The calls report the errors; here they only end the session.
    connection.on("error", () => {
      this.#ended = true;
    });
    connection.once("end", () => {
      this.#ended = true;
    });
  }

  /**
   * Connects, greets, applies the TLS policy and logs in. Under the opportunistic policy a failed TLS
   * handshake is retried once in plain text, as Postfix's `may` level does: the alternative is no mail.
   */
  static async open(target: Target, settings: SessionSettings): Promise<SmtpSession> {
    try {
      return await SmtpSession.#open(target, settings, target.tls);
    } catch (err) {
      if (target.tls !== "opportunistic" || (err as { code?: unknown }).code !== "ETLS") throw err;
      return SmtpSession.#open(target, settings, "none");
    }
  }

  static async #open(target: Target, settings: SessionSettings, tls: Target["tls"]): Promise<SmtpSession> {
    const connection = new SMTPConnection(connectionOptions(target, settings, tls));
    const session = new SmtpSession(connection, settings.commandTimeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        connection.once("error", reject);
        connection.connect((err) => {
          connection.off("error", reject);
          if (err) reject(err);
          else resolve();
        });
      });
      if (target.auth !== null) await session.#login(target.auth.user, await readPassword(target.auth.passwordFile));
      return session;
    } catch (err) {
      // nodemailer reports a handshake the peer broke as a socket error; it is a TLS failure.
      if (connection.upgrading === true && typeof err === "object" && err !== null && "code" in err && err.code === "ESOCKET") err.code = "ETLS";
      connection.close();
      throw err;
    }
  }

  get alive(): boolean {
    return !this.#ended && !this.#connection.destroyed;
  }

  /** The local address of the connection: the `senderIp` the destination saw. */
  get localAddress(): string {
    const socket = this.#connection._socket;
    const address = socket ? (socket.localAddress ?? "") : "";
    return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  }

  /**
   * Sends one message; resolves with the server's final reply. `timeoutMs` bounds the whole
   * transaction, MAIL FROM to the reply after the final dot; past it the session is closed.
   */
  send(envelope: Envelope, message: Buffer, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, response?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#connection.off("end", onEnd);
        if (err === undefined) resolve(response ?? "");
        else reject(err);
      };
      const timer = setTimeout(() => {
        finish(Object.assign(new Error(`no final reply within ${timeoutMs / 1000} s of MAIL FROM`), { code: "ETIMEDOUT", command: "DATA" }));
        this.abort();
      }, timeoutMs);
      // nodemailer fails the call in progress right after it emits 'end'; the later check lets its
      // error (with the server's reply, if any) win over this generic one.
      const onEnd = () => setImmediate(() => finish(Object.assign(new Error("Connection closed unexpectedly"), { code: "ECONNECTION" })));
      this.#connection.once("end", onEnd);
      this.#connection.send(
        { from: envelope.from, to: [envelope.to], size: envelope.size, use8BitMime: envelope.eightBit },
        message,
        (err, info) => finish(err ?? undefined, info?.response),
      );
    });
  }

  /** RSET after a refused transaction; false when the session cannot be reused. */
  reset(): Promise<boolean> {
    // nodemailer never calls back a RSET whose connection dies or stays silent (its error path only
    // fails a pending send): settle on 'end' or a deadline too, or the pool slot would leak forever.
    return new Promise((resolve) => {
      let settled = false;
      const finish = (reusable: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#connection.off("end", onEnd);
        if (!reusable) this.abort();
        resolve(reusable);
      };
      const onEnd = () => finish(false);
      const timer = setTimeout(() => finish(false), this.#resetTimeoutMs);
      this.#connection.once("end", onEnd);
      this.#connection.reset((err) => finish(err === null));
    });
  }

  /** QUIT, then close; the socket is closed anyway if the server does not answer soon. */
  close(): void {
    if (!this.alive) return this.abort();
    this.#connection.quit();
    setTimeout(() => this.abort(), QUIT_GRACE_MS).unref();
  }

  /** Closes the socket now. */
  abort(): void {
    this.#ended = true;
    this.#connection.close();
  }

  #login(user: string, pass: string): Promise<void> {
    return new Promise((resolve, reject) => this.#connection.login({ user, pass }, (err) => (err ? reject(err) : resolve())));
  }
}

function connectionOptions(target: Target, settings: SessionSettings, tls: Target["tls"]): SMTPConnectionOptions {
  const servername = isIP(target.host) === 0 ? target.host : undefined;
  const checked: ConnectionOptions = { rejectUnauthorized: true, ...(servername === undefined ? {} : { servername }), ...(settings.ca === undefined ? {} : { ca: [...settings.ca] }) };
  const base: SMTPConnectionOptions = {
    host: target.address,
    port: target.port,
    name: settings.heloName,
    connectionTimeout: settings.connectTimeoutMs,
    greetingTimeout: settings.greetingTimeoutMs,
    socketTimeout: settings.commandTimeoutMs,
    logger: false,
    ...(servername === undefined ? {} : { servername }),
  };
  switch (tls) {
    case "opportunistic":
      return { ...base, secure: false, opportunisticTLS: true, tls: { rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) } };
    case "verify":
      return { ...base, secure: false, requireTLS: true, tls: checked };
    case "implicit":
      return { ...base, secure: true, tls: checked };
    case "none":
      return { ...base, secure: false, ignoreTLS: true };
  }
}

/** The AUTH password, read at each new connection so a rotated Secret applies without a restart. */
async function readPassword(file: string): Promise<string> {
  try {
    // A file written with `echo` ends with a newline that is not part of the password.
    return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw Object.assign(new Error(`cannot read the AUTH password file ${file} (${typeof code === "string" ? code : "error"})`), { code: "OUTBOUND_PASSWORD_FILE" });
  }
}
