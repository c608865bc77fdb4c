// Every refusal the inbound listener answers, as data: the SMTP code, the RFC 3463 enhanced status
// code, the text the sender sees, and the bounded reason counted in metrics. 4xx means "try again
// later" (the sender keeps the mail), 5xx "never" (the sender bounces it).
//
// smtp-server adds enhanced codes only from a fixed table keyed by the reply code (550 is always
// 5.1.1 there), so the listener leaves that off and writes the enhanced code into the text itself.
import type { RefusalReason } from "../metrics/metrics.ts";

export interface SmtpRefusal {
  /** Reply code, 4xx (temporary) or 5xx (permanent). */
  code: number;
  /** RFC 3463 enhanced status code, e.g. "5.7.1". */
  enhanced: string;
  /** Text for the sender: what was wrong and, where it helps, the limit. */
  message: string;
  reason: RefusalReason;
}

export const replies = {
  relayingDenied: (domain: string): SmtpRefusal => ({
    code: 550,
    enhanced: "5.7.1",
    message: `relaying denied: this server does not accept mail for ${domain}`,
    reason: "unknown_domain",
  }),
  routedAddress: (): SmtpRefusal => ({
    code: 550,
    enhanced: "5.7.1",
    message: "relaying denied: addresses routed with % or ! are not accepted",
    reason: "invalid_recipient",
  }),
  noDomain: (): SmtpRefusal => ({
    code: 550,
    enhanced: "5.1.1",
    message: "no mailbox here by that name: a domain is required",
    reason: "invalid_recipient",
  }),
  noWebhook: (): SmtpRefusal => ({
    code: 550,
    enhanced: "5.1.1",
    message: "no mailbox here by that name",
    reason: "no_webhook",
  }),
  suspended: (): SmtpRefusal => ({
    code: 450,
    enhanced: "4.2.1",
    message: "mailbox temporarily unavailable, try again later",
    reason: "suspended",
  }),
  tooManyRecipients: (max: number): SmtpRefusal => ({
    code: 452,
    enhanced: "4.5.3",
    message: `too many recipients: at most ${max} per message, send the rest in another transaction`,
    reason: "too_many_recipients",
  }),
  tooLarge: (max: number): SmtpRefusal => ({
    code: 552,
    enhanced: "5.3.4",
    message: `message exceeds the size limit of ${max} bytes`,
    reason: "too_large",
  }),
  headerTooLarge: (max: number): SmtpRefusal => ({
    code: 552,
    enhanced: "5.3.4",
    message: `header section exceeds the limit of ${max} bytes`,
    reason: "header_too_large",
  }),
  lineTooLong: (max: number): SmtpRefusal => ({
    code: 554,
    enhanced: "5.6.0",
    message: `message has a line longer than ${max} bytes`,
    reason: "line_too_long",
  }),
  ambiguousEndOfData: (): SmtpRefusal => ({
    code: 554,
    enhanced: "5.5.2",
    message: 'message has a bare CR or LF next to a "." line (ambiguous end of data); use CRLF line ends',
    reason: "malformed",
  }),
  authRequired: (): SmtpRefusal => ({
    code: 530,
    enhanced: "5.7.0",
    message: "authentication required: this client's network may not relay without AUTH",
    reason: "sender_not_allowed",
  }),
  senderNotAllowed: (): SmtpRefusal => ({
    code: 550,
    enhanced: "5.7.1",
    message: "relaying denied: this client may not send through this server",
    reason: "sender_not_allowed",
  }),
  encryptionRequired: (): SmtpRefusal => ({
    code: 538,
    enhanced: "5.7.11",
    message: "encryption required: issue STARTTLS before AUTH",
    reason: "auth_failed",
  }),
  authFailed: (): SmtpRefusal => ({
    code: 535,
    enhanced: "5.7.8",
    message: "authentication credentials invalid",
    reason: "auth_failed",
  }),
  busy: (): SmtpRefusal => ({
    code: 452,
    enhanced: "4.3.1",
    message: "insufficient system resources: too many messages being received at once; try again later",
    reason: "busy",
  }),
  notReady: (): SmtpRefusal => ({
    code: 451,
    enhanced: "4.3.0",
    message: "not ready: the webhook configuration is still loading; try again later",
    reason: "not_ready",
  }),
  localError: (): SmtpRefusal => ({
    code: 451,
    enhanced: "4.3.0",
    message: "local error, message not accepted; try again later",
    reason: "spool_error",
  }),
} as const;

/** The error shape smtp-server turns into a reply (`responseCode` + text). */
export function toSmtpError(refusal: Pick<SmtpRefusal, "code" | "enhanced" | "message">): Error & { responseCode: number } {
  return Object.assign(new Error(`${refusal.enhanced} ${refusal.message}`), { responseCode: refusal.code });
}
