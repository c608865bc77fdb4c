// A real destination SMTP server for outbound tests: smtp-server on 127.0.0.1, an OS-chosen port. It
// records every message it accepts (raw bytes as they arrived, envelope, TLS, AUTH user, which
// connection) and answers through rules a test can swap at any time; by default it accepts everything.
// Optionally speaks TLS with the test CA's localhost certificate (STARTTLS, or from the first byte),
// requires AUTH, and enforces a SIZE limit.
// Also raw TCP servers that misbehave in ways smtp-server cannot be made to: never greeting, dropping
// the connection in the middle of DATA, a broken TLS handshake.
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { localhostCertFile, localhostKeyFile } from "./tls-fixtures.ts";

export type SinkReply = { code: number; message: string };

export type SinkRules = {
  mailFrom?(address: string): SinkReply | undefined;
  rcptTo?(address: string): SinkReply | undefined;
  /** Decides the reply to the message; may take its time (a slow server). */
  data?(mail: SunkMail): SinkReply | undefined | Promise<SinkReply | undefined>;
};

export type SunkMail = {
  from: string;
  to: string[];
  raw: Buffer;
  /** The session ran over TLS. */
  secure: boolean;
  user: string | undefined;
  /** The smtp-server session id: equal for mails sent over one connection. */
  connection: string;
  remoteAddress: string;
};

export type SmtpSink = {
  port: number;
  /** Accepted messages, in order. */
  messages: SunkMail[];
  rules: SinkRules;
  /** Connections accepted so far. */
  connections(): number;
  /** The most connections open at once. */
  peakConnections(): number;
  close(): Promise<void>;
};

export type SinkOptions = {
  /** TLS with the localhost certificate: offered as STARTTLS, or from the first byte (port 465 style). */
  tls?: "starttls" | "implicit";
  /** Require AUTH with these credentials (TLS only, as real servers do). */
  auth?: { user: string; pass: string };
  /** Advertise and enforce SIZE. */
  size?: number;
  rules?: SinkRules;
};

export async function startSmtpSink(options: SinkOptions = {}): Promise<SmtpSink> {
  const messages: SunkMail[] = [];
  let total = 0;
  let open = 0;
  let peak = 0;
  const sink: SmtpSink = {
    port: 0,
    messages,
    rules: options.rules ?? {},
    connections: () => total,
    peakConnections: () => peak,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const refuse = (reply: SinkReply | undefined) => (reply === undefined ? null : Object.assign(new Error(reply.message), { responseCode: reply.code }));

  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 100,
    ...(options.tls === undefined ? { hideSTARTTLS: true } : { key: readFileSync(localhostKeyFile), cert: readFileSync(localhostCertFile), secure: options.tls === "implicit" }),
    ...(options.size === undefined ? {} : { size: options.size }),
    authOptional: options.auth === undefined,
    ...(options.auth === undefined ? { disabledCommands: ["AUTH"] } : {}),
    onAuth(auth, _session, callback) {
      const ok = auth.username === options.auth?.user && auth.password === options.auth?.pass;
      callback(ok ? null : Object.assign(new Error("5.7.8 Authentication credentials invalid"), { responseCode: 535 }), ok ? { user: auth.username } : undefined);
    },
    onConnect(_session, callback) {
      total++;
      open++;
      peak = Math.max(peak, open);
      callback();
    },
    onClose() {
      open--;
    },
    onMailFrom(address, _session, callback) {
      callback(refuse(sink.rules.mailFrom?.(address.address)));
    },
    onRcptTo(address, _session, callback) {
      callback(refuse(sink.rules.rcptTo?.(address.address)));
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const mail: SunkMail = {
          from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
          user: session.user as string | undefined,
          connection: session.id,
          remoteAddress: session.remoteAddress,
        };
        void Promise.resolve(sink.rules.data?.(mail)).then((reply) => {
          if (reply === undefined) messages.push(mail);
          callback(refuse(reply));
        });
      });
    },
  });
  // A client killed mid-session (crash tests do that) resets its connection; smtp-server reports it
  // as an 'error' event, which unheard would crash the test process.
  server.on("error", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sink.port = (server.server.address() as AddressInfo).port;
  return sink;
}

export type RawServer = { port: number; /** Messages taken with 250. */ messages(): number; connections(): number; close(): Promise<void> };

/**
 * A TCP server on 127.0.0.1 that speaks just enough SMTP, badly:
 * - `silent` accepts and never greets;
 * - `drop-in-data` answers DATA with 354 and closes the connection when the first message bytes arrive;
 * - `bad-tls` offers STARTTLS, answers it with 220 and then sends bytes that are not TLS; a client that
 *   stays in plain text gets its message taken with 250;
 * - `one-per-connection` takes one message, then drops the connection at the next MAIL FROM without a
 *   word, as a server (or a NAT on the way) that forgot an idle session does.
 */
export async function startBrokenServer(behaviour: "silent" | "drop-in-data" | "bad-tls" | "one-per-connection"): Promise<RawServer> {
  const sockets = new Set<Socket>();
  let taken = 0;
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (behaviour === "silent") return;
    let data: string | null = null;
    let tookOne = false;
    socket.write("220 broken.test ESMTP\r\n");
    socket.on("data", (chunk: Buffer) => {
      if (data !== null) {
        if (behaviour === "drop-in-data") return void socket.destroy();
        data += chunk.toString("latin1");
        if (!data.endsWith("\r\n.\r\n")) return;
        data = null;
        taken++;
        tookOne = true;
        return void socket.write("250 taken\r\n");
      }
      for (const line of chunk.toString("latin1").split("\r\n").filter((l) => l !== "")) {
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "MAIL" && tookOne && behaviour === "one-per-connection") return void socket.destroy();
        if (verb === "EHLO") socket.write(behaviour === "bad-tls" ? "250-broken.test\r\n250 STARTTLS\r\n" : "250 broken.test\r\n");
        else if (verb === "STAR") socket.write("220 go ahead\r\nthis is not a TLS server hello\r\n");
        else if (verb === "DATA") {
          data = "";
          socket.write("354 go ahead\r\n");
        } else if (verb === "QUIT") socket.end("221 bye\r\n");
        else socket.write("250 ok\r\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    messages: () => taken,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
