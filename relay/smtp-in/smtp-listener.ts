// An SMTP listener on smtp-server, shared by the inbound (MX) and the submission (relay-source)
// sides; what differs between them is a ListenerPolicy. This module guarantees the session rules:
// - MAIL/RCPT: the policy's verdicts (who may send, which recipients), limits on recipients;
// - DATA: size, line and header limits and the smuggling guard enforced on the stream itself, the
//   message collected whole (bounded) and handed to the policy with a Received trace prepended;
// - `250 2.0.0 queued as <id>` only once receive() resolved (the policy commits first); a refusal
//   becomes its reply, and a failing receive() a 451 (the sender retries: nothing is lost silently);
// - AUTH only when the policy verifies users, STARTTLS only with a configured certificate, no DNS per
//   connection; a graceful close lets transactions in progress finish.
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { parseListen, type RelaySettings } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { DataGuard, type DataViolation } from "./data-guard.ts";
import type { RecipientCheck } from "./recipient.ts";
import { replies, toSmtpError, type SmtpRefusal } from "./replies.ts";
import { receivedHeader } from "./trace-header.ts";

/** The settings every listener has (settings.inbound, settings.submission). */
export type ListenerSettings = Omit<RelaySettings["inbound"], "domains">;

/** A message received in full, within every limit, for recipients the policy said it may take. */
export interface ReceivedMail {
  /** MAIL FROM address; "" for the null sender (bounces). */
  envelopeFrom: string;
  /** Accepted RCPT TO addresses in order, as the policy normalised them. */
  recipients: string[];
  /** The message as received (dot-unstuffed), with this server's Received field prepended. */
  raw: Buffer;
  remoteAddress: string;
  /** Whether the session ran over STARTTLS. */
  tls: boolean;
  /** The SMTP AUTH user, when the client authenticated. */
  user?: string | undefined;
}

export type ReceiveResult = { accepted: true; queueId: string } | ({ accepted: false } & SmtpRefusal);

export interface RefusalEvent extends SmtpRefusal {
  stage: "auth" | "mail" | "rcpt" | "data";
  remoteAddress: string;
}

/** What a session knows about its client when the policy is asked. */
export interface SessionFacts {
  remoteAddress: string;
  /** The SMTP AUTH user, once authenticated. */
  user: string | undefined;
}

export interface ListenerPolicy {
  /** Names the listener in logs. */
  readonly component: string;
  /** SMTP AUTH (PLAIN, LOGIN); without it the listener offers no AUTH. */
  readonly auth?: {
    verify(username: string, password: string): Promise<boolean>;
    /** Offer AUTH without TLS too. */
    readonly allowInsecure: boolean;
  };
  /** MAIL FROM: may this client send at all? A refusal ends the transaction. */
  checkSender?(session: SessionFacts): SmtpRefusal | undefined;
  /** RCPT TO: the normalised address, or why not. */
  checkRecipient(address: string, session: SessionFacts): RecipientCheck;
  /**
   * Takes a received mail. Resolve `accepted` only once the mail is durably committed (the sender
   * is then told 250 and forgets it); resolve a refusal to answer it; reject for a 451.
   */
  receive(mail: ReceivedMail): Promise<ReceiveResult>;
  /** Told of every refusal this listener answers (its own and receive()'s), e.g. for metrics. */
  refused?(event: RefusalEvent): void;
}

export interface SmtpListener {
  readonly address: AddressInfo;
  /**
   * Stops accepting connections and new transactions, lets transactions in progress finish for up
   * to `graceMs`, then closes what is left with 421. Idle sessions get 421 at once.
   */
  close(graceMs?: number): Promise<void>;
}

export const DEFAULT_CLOSE_GRACE_MS = 30_000;

const SHUTTING_DOWN = { code: 421, enhanced: "4.3.2", message: "service shutting down, try again later" };

export async function startSmtpListener(settings: ListenerSettings, policy: ListenerPolicy, logger: Logger): Promise<SmtpListener> {
  const log = logger.child({ component: policy.component });
  const limits = {
    maxMessageBytes: settings.maxMessageBytes,
    maxLineBytes: settings.maxLineBytes,
    maxHeaderBytes: settings.maxHeaderBytes,
  };
  const tls = settings.tls ? await readTlsFiles(settings.tls) : undefined;
  // Sessions between an accepted MAIL FROM and the end of their DATA: a graceful close waits for these.
  const inTransaction = new Set<string>();
  // Bytes of messages being received, all sessions together (bounded by maxBufferedBytes).
  let buffered = 0;
  // The recipients of each session's transaction, as the policy normalised them.
  const recipientsOf = new Map<string, string[]>();
  const facts = (session: SMTPServerSession): SessionFacts => ({ remoteAddress: session.remoteAddress, user: userOf(session) });
  let closing: Promise<void> | undefined;

  const refuse = (refusal: SmtpRefusal, stage: RefusalEvent["stage"], session: SMTPServerSession): Error => {
    log.info("refused", { stage, code: refusal.code, reason: refusal.reason, session: session.id, remoteAddress: session.remoteAddress });
    try {
      policy.refused?.({ ...refusal, stage, remoteAddress: session.remoteAddress });
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
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: policy.auth?.allowInsecure ?? false,
    // smtp-server lets AUTH through in clear when STARTTLS is not offered at all; we do not.
    disabledCommands: [...(policy.auth && (tls || policy.auth.allowInsecure) ? [] : ["AUTH"]), ...(tls ? [] : ["STARTTLS"])],
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

    onAuth(auth, session, callback) {
      const users = policy.auth;
      if (!users || auth.method === "XOAUTH2" || auth.method === "CRAM-MD5") return callback(refuse(replies.authFailed(), "auth", session));
      if (!session.secure && !users.allowInsecure) return callback(refuse(replies.encryptionRequired(), "auth", session));
      users.verify(auth.username ?? "", auth.password ?? "").then(
        (ok) => (ok ? callback(null, { user: auth.username }) : callback(refuse(replies.authFailed(), "auth", session))),
        (err: unknown) => {
          log.error("authentication check failed", { err, session: session.id });
          callback(refuse(replies.localError(), "auth", session));
        },
      );
    },

    onMailFrom(address, session, callback) {
      // 421 makes smtp-server close the connection after the reply.
      if (closing) return callback(toSmtpError(SHUTTING_DOWN));
      const declared = address.args ? Number(address.args.SIZE ?? 0) : 0;
      if (declared > limits.maxMessageBytes) return callback(refuse(replies.tooLarge(limits.maxMessageBytes), "mail", session));
      const senderRefusal = policy.checkSender?.(facts(session));
      if (senderRefusal) return callback(refuse(senderRefusal, "mail", session));
      inTransaction.add(session.id);
      recipientsOf.set(session.id, []);
      callback();
    },

    onRcptTo(address, session, callback) {
      const accepted = recipientsOf.get(session.id) ?? [];
      let checked: RecipientCheck;
      try {
        checked = policy.checkRecipient(address.address, facts(session));
      } catch (err) {
        log.error("recipient check failed", { err, session: session.id });
        return callback(refuse(replies.localError(), "rcpt", session));
      }
      if (!checked.ok) return callback(refuse(checked.refusal, "rcpt", session));
      // A repeated recipient is answered 250 again but kept once, and does not count twice.
      if (accepted.some((r) => r.toLowerCase() === checked.address.toLowerCase())) return callback();
      if (accepted.length >= settings.maxRecipients) {
        return callback(refuse(replies.tooManyRecipients(settings.maxRecipients), "rcpt", session));
      }
      accepted.push(checked.address);
      recipientsOf.set(session.id, accepted);
      callback();
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const guard = new DataGuard(limits);
      let chunks: Buffer[] = [];
      let held = 0;
      let overBudget = false;
      const drop = () => {
        buffered -= held;
        held = 0;
        chunks = [];
      };
      stream.on("data", (chunk: Buffer) => {
        // After a violation the rest is only counted and discarded: nothing of it is kept.
        if (guard.push(chunk) || overBudget) return drop();
        // Messages being received are held in memory; all sessions together stay under a budget,
        // so many slow senders cannot exhaust the relay's memory (they get a 452 and retry).
        if (buffered + chunk.length > settings.maxBufferedBytes) {
          overBudget = true;
          return drop();
        }
        chunks.push(chunk);
        held += chunk.length;
        buffered += chunk.length;
      });
      // The client went away mid-message: there is nobody to answer, and nothing was accepted.
      stream.once("error", () => {
        drop();
        inTransaction.delete(session.id);
      });
      stream.once("end", () => {
        const violation = guard.violation ?? (stream.sizeExceeded ? "too_large" : undefined);
        if (overBudget && !violation) {
          inTransaction.delete(session.id);
          return callback(refuse(replies.busy(), "data", session));
        }
        const finish = (err: Error | null, reply?: string) => {
          // The mail is answered for: its bytes no longer count against the listener's budget.
          drop();
          inTransaction.delete(session.id);
          callback(err, reply);
          // Once the reply is out, a closing listener has no reason to keep the session.
          if (closing) setImmediate(() => sayGoodbye(server, session.id));
        };
        if (violation) return finish(refuse(violationReply(violation), "data", session));
        const mail: ReceivedMail = {
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          recipients: recipientsOf.get(session.id) ?? [],
          raw: concatShared([traceOf(session, settings.hostname), ...chunks]),
          remoteAddress: session.remoteAddress,
          tls: session.secure,
          user: userOf(session),
        };
        receiveSafely(policy, mail).then(
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
      recipientsOf.delete(session.id);
    },
  });
  server.on("error", (err) => log.warn("smtp error", { err }));

  const { host, port } = parseListen(settings.listen);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(Object.assign(new Error(`${policy.component} listener cannot listen on ${settings.listen}: ${err.message}`, { cause: err }), { code: "LISTEN_FAILED" }));
    server.server.once("error", onError);
    server.listen(port, host, () => {
      server.server.off("error", onError);
      resolve();
    });
  });
  const address = server.server.address() as AddressInfo;
  log.info("listening", { address: address.address, port: address.port, tls: Boolean(tls), auth: Boolean(policy.auth) });

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
    throw Object.assign(new Error(`TLS certificate unreadable: ${(err as Error).message}`, { cause: err }), { code: "TLS_FILES_UNREADABLE" });
  }
}

/** receive() that may also throw synchronously: every failure becomes a rejected promise. */
async function receiveSafely(policy: ListenerPolicy, mail: ReceivedMail): Promise<ReceiveResult> {
  return policy.receive(mail);
}

function userOf(session: SMTPServerSession): string | undefined {
  return typeof session.user === "string" ? session.user : undefined;
}


/**
 * The mail's bytes in one piece, in shared memory: the posting thread, when there is one, then reads
 * them where they are (posting-thread.ts). A second copy per mail was a tenth of the external memory churn that drives
 * V8's full collections on large mail (1.40 -> 1.31 CPU ms/msg at ~100 KB).
 */
function concatShared(chunks: readonly Buffer[]): Buffer {
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  const raw = Buffer.from(new SharedArrayBuffer(size));
  let offset = 0;
  for (const chunk of chunks) offset += chunk.copy(raw, offset);
  return raw;
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
