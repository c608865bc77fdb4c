// What one delivery attempt's outcome means: delivered, deferred (retry on the schedule) or failed (with
// the cause and the error status of the `bounced` event). Pure.
//
// The cause of a 5xx is chosen by the bounce analysis's rule table (relay/bounce/reason-rules.ts: text
// patterns, enhanced status codes, reply codes, kept as data and compiled once), so that a refusal gets
// the same error status whether this relay saw it in the SMTP session or another relay reported it in
// a bounce mail.
import { classifyFailure } from "../bounce/classify-reason.ts";
import { errorStatusOf, type ErrorStatus, type Reason } from "../bounce/reasons.ts";
import type { SmtpCommand } from "../bounce/smtp-command.ts";

/** A Sisimai cause, or `addressformat`: an address the relay cannot deliver to as written (status 9). */
export type FailureCause = Reason | "addressformat";

export interface Delivered {
  readonly kind: "delivered";
  /** The local address the relay sent from (`senderIp` of the `succeeded` event). */
  readonly senderIp: string;
  readonly response: string;
  /** `name[address]:port` of the server that took the mail. */
  readonly host: string;
}

export interface Deferred {
  readonly kind: "deferred";
  /** Short and secret-free: the server's reply, or what went wrong on the way to it. */
  readonly reason: string;
  /** The server's reply, when there was one. */
  readonly response?: string;
  readonly host?: string;
}

export interface Failed {
  readonly kind: "failed";
  readonly reason: FailureCause;
  /** The server's reply (or the relay's own words, in the same form), for the event's `reason`. */
  readonly response: string;
  readonly errorStatus: ErrorStatus;
  readonly enhancedStatus?: string;
  readonly replyCode?: number;
  readonly host?: string;
}

export type DeliveryResult = Delivered | Deferred | Failed;

/** A failed step as the SMTP client (nodemailer) reports it. */
export interface SmtpFailure {
  /** The client's error code: ECONNECTION, ETIMEDOUT, ETLS, EENVELOPE, EMESSAGE, EAUTH, … */
  readonly code?: string;
  /** The system's code under it (ECONNREFUSED, ECONNRESET, …). */
  readonly originalCode?: string;
  readonly responseCode?: number;
  /** The server's reply, all lines. */
  readonly response?: string;
  /** The command being answered: CONN, EHLO, HELO, STARTTLS, AUTH …, MAIL FROM, RCPT TO, DATA. */
  readonly command?: string;
  readonly message?: string;
}

const MAX_REASON_CHARS = 500;

/** Reply code and enhanced status code at the start of a reply (`550-5.1.1 …` or `550 5.1.1 …`). */
export function parseReply(response: string): { replyCode?: number; enhancedStatus?: string } {
  const m = /^([2-5]\d\d)(?:[ -]([245]\.\d{1,3}\.\d{1,3})(?=\s|$))?/.exec(response);
  if (m === null) return {};
  return m[2] === undefined ? { replyCode: Number(m[1]) } : { replyCode: Number(m[1]), enhancedStatus: m[2] };
}

export function classifySmtpFailure(failure: SmtpFailure): Deferred | Failed {
  const response = failure.response?.trim() ?? "";
  const replyCode = failure.responseCode ?? parseReply(response).replyCode;
  if (replyCode === undefined) return classifyLocalError(failure);
  if (replyCode < 500 || !isPermanentFor(replyCode, failure.command ?? "")) return { kind: "deferred", reason: bounded(response), response };
  const enhancedStatus = parseReply(response).enhancedStatus;
  const reason = causeOf(response, enhancedStatus ?? "", replyCode, commandOf(failure.command ?? ""));
  return {
    kind: "failed",
    reason,
    response,
    errorStatus: errorStatusOf(reason) ?? 99,
    replyCode,
    ...(enhancedStatus === undefined ? {} : { enhancedStatus }),
  };
}

/**
 * Whether a 5xx answer to this command is final for the recipient. Not for:
 * - 503 (bad sequence of commands): the session was confused, not the mail refused;
 * - 552 to RCPT: RFC 5321 4.5.3.1.10 tells clients to treat it as temporary (it means "storage
 *   exceeded", historically sent where 452 was meant);
 * - STARTTLS and AUTH: a TLS or credentials problem between the relay and its peer is fixed by
 *   configuration, not by bouncing the mail (Postfix defers these too).
 */
function isPermanentFor(replyCode: number, command: string): boolean {
  if (replyCode === 503) return false;
  if (replyCode === 552 && command === "RCPT TO") return false;
  return command !== "STARTTLS" && !command.startsWith("AUTH");
}

function causeOf(response: string, enhancedStatus: string, replyCode: number, command: SmtpCommand): Reason {
  const reason = classifyFailure({ diagnostic: response, status: enhancedStatus, replyCode: String(replyCode), action: "failed", command, context: "", diagnosticType: "smtp" });
  // The bounce table also knows the non-failures (vacation, feedback, delivered); a 5xx is none of them.
  return errorStatusOf(reason) === null ? "undefined" : reason;
}

/** The client's command names → the bounce analysis's. */
function commandOf(command: string): SmtpCommand {
  if (command === "CONN") return "CONN";
  if (command === "EHLO" || command === "HELO" || command === "LHLO") return "HELO";
  if (command === "MAIL FROM") return "MAIL";
  if (command === "RCPT TO") return "RCPT";
  if (command === "DATA") return "DATA";
  return "";
}

/** Failures with no reply from the server: the relay's own checks, or the network. */
function classifyLocalError(failure: SmtpFailure): Deferred | Failed {
  const message = bounded(failure.message ?? failure.code ?? "unknown error");
  // The server advertised SIZE and the message is larger: it would refuse it (RFC 1870).
  if (failure.code === "EMESSAGE" && /size larger than allowed/i.test(message)) {
    return localFailure("mesgtoobig", `552 5.3.4 ${message}`);
  }
  // nodemailer refuses an envelope address with CR, LF or angle brackets before sending it.
  if (failure.code === "EENVELOPE") return localFailure("addressformat", `553 5.1.3 ${message}`);
  // OpenSSL's own words are long and say no more than its code.
  if (failure.code === "ETLS" && failure.originalCode !== undefined) return { kind: "deferred", reason: `TLS handshake failed (${failure.originalCode})` };
  const system = failure.originalCode !== undefined && !message.includes(failure.originalCode) ? ` (${failure.originalCode})` : "";
  return { kind: "deferred", reason: `${message}${system}` };
}

/** Whether the next address may do better: the host, not the mail, was the problem. */
export function triesNextHost(failure: SmtpFailure): boolean {
  const replyCode = failure.responseCode ?? parseReply(failure.response ?? "").replyCode;
  if (replyCode === undefined) return failure.code !== "EENVELOPE" && failure.code !== "EMESSAGE";
  if (replyCode === 421) return true;
  const command = failure.command ?? "";
  return command === "CONN" || command === "EHLO" || command === "HELO" || command === "LHLO" || command === "STARTTLS" || command.startsWith("AUTH");
}

/** A permanent failure the relay decides itself (DNS, loop, address syntax), worded like a reply. */
export function localFailure(reason: FailureCause, response: string): Failed {
  const { replyCode, enhancedStatus } = parseReply(response);
  return {
    kind: "failed",
    reason,
    response,
    errorStatus: reason === "addressformat" ? 9 : (errorStatusOf(reason) ?? 99),
    ...(replyCode === undefined ? {} : { replyCode }),
    ...(enhancedStatus === undefined ? {} : { enhancedStatus }),
  };
}

/** The give-up after the retry schedule ran out: error status 3, with the last temporary failure. */
export function retryTimeout(last: Deferred): Failed {
  const response = last.response ?? last.reason;
  return { kind: "failed", reason: "expired", response, errorStatus: 3, ...(last.host === undefined ? {} : { host: last.host }) };
}

function bounded(text: string): string {
  return text.length <= MAX_REASON_CHARS ? text : `${text.slice(0, MAX_REASON_CHARS)}…`;
}
