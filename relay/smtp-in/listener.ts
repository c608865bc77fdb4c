// The inbound SMTP listener (the MX side): smtp-server with the limits of settings.inbound, turning
// the handler's verdicts into SMTP replies. What happens to a mail (matching, spool) is the
// handler's business; this module guarantees the session rules:
// - RCPT: only the accepted domains (never an open relay), then the handler's recipient verdict;
// - DATA: size, line and header limits and the smuggling guard enforced on the stream itself, the
//   message collected whole (bounded) and handed to the handler with a Received trace prepended;
// - `250 2.0.0 queued as <id>` only once receive() resolved (the handler commits first); a refusal
//   becomes its reply, and a failing handler a 451 (the sender retries: nothing is lost silently);
// - no AUTH on this listener, STARTTLS only with a configured certificate, no DNS per connection.
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { parseListen, type RelaySettings } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { RecipientVerdict } from "../match/conditions.ts";
import { DataGuard, type DataViolation } from "./data-guard.ts";
import { checkRecipientAddress } from "./recipient.ts";
import { replies, toSmtpError, type SmtpRefusal } from "./replies.ts";
import { receivedHeader } from "./trace-header.ts";

export type InboundSettings = RelaySettings["inbound"];

/** A message received in full, within every limit, for recipients the handler said it may take. */
export interface ReceivedMail {
  /** MAIL FROM address; "" for the null sender (bounces). */
  envelopeFrom: string;
  /** Accepted RCPT TO addresses in order, each `local@domain` with the domain in lower-case ASCII. */
  recipients: string[];
  /** The message as received (dot-unstuffed), with this server's Received field prepended. */
  raw: Buffer;
  remoteAddress: string;
  /** Whether the session ran over STARTTLS. */
  tls: boolean;
}

export type ReceiveResult = { accepted: true; queueId: string } | ({ accepted: false } & SmtpRefusal);

export interface RefusalEvent extends SmtpRefusal {
  stage: "mail" | "rcpt" | "data";
  remoteAddress: string;
}

export interface InboundHandler {
  /** RCPT TO for an accepted domain: may some webhook take mail for this (normalised) address? */
  checkRecipient(address: string): RecipientVerdict;
  /**
   * Takes a received mail. Resolve `accepted` only once the mail is durably committed (the sender
   * is then told 250 and forgets it); resolve a refusal to answer it; reject for a 451.
   */
  receive(mail: ReceivedMail): Promise<ReceiveResult>;
  /** Told of every refusal this listener answers (its own and receive()'s), e.g. for metrics. */
  refused?(event: RefusalEvent): void;
}

export interface InboundListener {
  readonly address: AddressInfo;
  /**
   * Stops accepting connections and new transactions, lets transactions in progress finish for up
   * to `graceMs`, then closes what is left with 421. Idle sessions get 421 at once.
   */
  close(graceMs?: number): Promise<void>;
}

export const DEFAULT_CLOSE_GRACE_MS = 30_000;

const SHUTTING_DOWN = { code: 421, enhanced: "4.3.2", message: "service shutting down, try again later" };

export async function startInboundListener(settings: InboundSettings, handler: InboundHandler, logger: Logger): Promise<InboundListener> {
  const log = logger.child({ component: "smtp-in" });
  const domains = new Set(settings.domains);
  const limits = {
    maxMessageBytes: settings.maxMessageBytes,
    maxLineBytes: settings.maxLineBytes,
    maxHeaderBytes: settings.maxHeaderBytes,
  };
  const tls = settings.tls ? await readTlsFiles(settings.tls) : undefined;
  // Sessions between an accepted MAIL FROM and the end of their DATA: a graceful close waits for these.
  const inTransaction = new Set<string>();
  let closing: Promise<void> | undefined;

  const refuse = (refusal: SmtpRefusal, stage: RefusalEvent["stage"], session: SMTPServerSession): Error => {
    log.info("refused", { stage, code: refusal.code, reason: refusal.reason, session: session.id, remoteAddress: session.remoteAddress });
    try {
      handler.refused?.({ ...refusal, stage, remoteAddress: session.remoteAddress });
    } catch (err) {
      log.error("refusal observer failed", { err });
    }
    return toSmtpError(refusal);
  };

  const violationReply = (violation: DataViolation): SmtpRefusal => {
    switch (violation) {
      case "too_large":
        return replies.tooLarge(limits.maxMessageBytes);
      case "header_too_large":
        return replies.headerTooLarge(limits.maxHeaderBytes);
      case "line_too_long":
        return replies.lineTooLong(limits.maxLineBytes);
      case "ambiguous_end_of_data":
        return replies.ambiguousEndOfData();
    }
  };

  const server: SMTPServer = new SMTPServer({
    name: settings.hostname,
    banner: "mailhook ready",
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: tls ? ["AUTH"] : ["AUTH", "STARTTLS"],
    ...(tls ?? {}),
    // The limit is enforced in onMailFrom and on the stream (so every refusal has our reply and is
    // counted); hideSize keeps smtp-server's own SIZE= check, which would answer first, out of the way.
    // EHLO then advertises SIZE without a number (RFC 1870: no fixed maximum declared).
    size: settings.maxMessageBytes,
    hideSize: true,
    maxClients: settings.maxConnections,
    socketTimeout: settings.socketTimeoutSeconds * 1000,
    closeTimeout: DEFAULT_CLOSE_GRACE_MS,

    onConnect(session, callback) {
      callback(closing ? toSmtpError(SHUTTING_DOWN) : null);
    },

    onMailFrom(address, session, callback) {
      // 421 makes smtp-server close the connection after the reply.
      if (closing) return callback(toSmtpError(SHUTTING_DOWN));
      const declared = address.args ? Number(address.args.SIZE ?? 0) : 0;
      if (declared > limits.maxMessageBytes) return callback(refuse(replies.tooLarge(limits.maxMessageBytes), "mail", session));
      inTransaction.add(session.id);
      callback();
    },

    onRcptTo(address, session, callback) {
      const key = address.address.toLowerCase();
      const recipients = session.envelope.rcptTo;
      if (recipients.length >= settings.maxRecipients && !recipients.some((r) => r.address.toLowerCase() === key)) {
        return callback(refuse(replies.tooManyRecipients(settings.maxRecipients), "rcpt", session));
      }
      const checked = checkRecipientAddress(address.address, domains);
      if (!checked.ok) return callback(refuse(checked.refusal, "rcpt", session));
      let verdict: RecipientVerdict;
      try {
        verdict = handler.checkRecipient(checked.address);
      } catch (err) {
        log.error("recipient check failed", { err, session: session.id });
        return callback(refuse(replies.localError(), "rcpt", session));
      }
      if (verdict === "none") return callback(refuse(replies.noWebhook(), "rcpt", session));
      if (verdict === "suspended-only") return callback(refuse(replies.suspended(), "rcpt", session));
      callback();
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const guard = new DataGuard(limits);
      let chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => {
        // After a violation the rest is only counted and discarded: nothing of it is kept.
        if (guard.push(chunk)) chunks = [];
        else chunks.push(chunk);
      });
      // The client went away mid-message: there is nobody to answer, and nothing was accepted.
      stream.once("error", () => {
        chunks = [];
        inTransaction.delete(session.id);
      });
      stream.once("end", () => {
        const violation = guard.violation ?? (stream.sizeExceeded ? "too_large" : undefined);
        const finish = (err: Error | null, reply?: string) => {
          inTransaction.delete(session.id);
          callback(err, reply);
          // Once the reply is out, a closing listener has no reason to keep the session.
          if (closing) setImmediate(() => sayGoodbye(server, session.id));
        };
        if (violation) return finish(refuse(violationReply(violation), "data", session));
        const mail: ReceivedMail = {
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          recipients: normalisedRecipients(session, domains),
          raw: Buffer.concat([traceOf(session, settings.hostname), ...chunks]),
          remoteAddress: session.remoteAddress,
          tls: session.secure,
        };
        chunks = [];
        receiveSafely(handler, mail).then(
          (result) => {
            if (result.accepted) {
              log.info("accepted", { queueId: result.queueId, bytes: mail.raw.length, recipients: mail.recipients.length, session: session.id });
              finish(null, `2.0.0 queued as ${result.queueId}`);
            } else {
              finish(refuse(result, "data", session));
            }
          },
          (err: unknown) => {
            log.error("receive failed, answering 451", { err, session: session.id });
            finish(refuse(replies.localError(), "data", session));
          },
        );
      });
    },

    onClose(session) {
      inTransaction.delete(session.id);
    },
  });
  server.on("error", (err) => log.warn("smtp error", { err }));

  const { host, port } = parseListen(settings.listen);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(Object.assign(new Error(`inbound listener cannot listen on ${settings.listen}: ${err.message}`, { cause: err }), { code: "LISTEN_FAILED" }));
    server.server.once("error", onError);
    server.listen(port, host, () => {
      server.server.off("error", onError);
      resolve();
    });
  });
  const address = server.server.address() as AddressInfo;
  log.info("listening", { address: address.address, port: address.port, tls: Boolean(tls), domains: settings.domains });

  return {
    address,
    close(graceMs = DEFAULT_CLOSE_GRACE_MS) {
      closing ??= new Promise<void>((resolve) => {
        // smtp-server reads closeTimeout when close() is called: that is the bounded wait.
        server.options.closeTimeout = Math.max(1, graceMs);
        server.close(() => resolve());
        for (const connection of [...server.connections]) {
          if (!inTransaction.has(connection.session.id)) connection.send(SHUTTING_DOWN.code, `${SHUTTING_DOWN.enhanced} ${SHUTTING_DOWN.message}`);
        }
      });
      return closing;
    },
  };
}

async function readTlsFiles(files: { certFile: string; keyFile: string }): Promise<{ key: Buffer; cert: Buffer }> {
  try {
    const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
    return { key, cert };
  } catch (err) {
    throw Object.assign(new Error(`inbound TLS certificate unreadable: ${(err as Error).message}`, { cause: err }), { code: "TLS_FILES_UNREADABLE" });
  }
}

/** receive() that may also throw synchronously: every failure becomes a rejected promise. */
async function receiveSafely(handler: InboundHandler, mail: ReceivedMail): Promise<ReceiveResult> {
  return handler.receive(mail);
}

function normalisedRecipients(session: SMTPServerSession, domains: ReadonlySet<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const { address } of session.envelope.rcptTo) {
    const checked = checkRecipientAddress(address, domains);
    if (!checked.ok || seen.has(checked.address.toLowerCase())) continue;
    seen.add(checked.address.toLowerCase());
    out.push(checked.address);
  }
  return out;
}

function traceOf(session: SMTPServerSession, hostname: string): Buffer {
  return receivedHeader({
    helo: session.hostNameAppearsAs,
    remoteAddress: session.remoteAddress,
    hostname,
    protocol: session.transmissionType,
    date: new Date(),
  });
}

function sayGoodbye(server: SMTPServer, sessionId: string): void {
  for (const connection of server.connections) {
    if (connection.session.id === sessionId) connection.send(SHUTTING_DOWN.code, `${SHUTTING_DOWN.enhanced} ${SHUTTING_DOWN.message}`);
  }
}
