// Bounce-mail analysis: which recipients failed, with which codes, for which cause. The relay uses it on
// DSN mail arriving for its bounce domain; `mailhook bounce` prints it. Complaint reports (ARF),
// auto-replies and delivery-success notices are recognised and reported as not bounces.
import { readBounceMessage } from "./bounce-message.ts";
import type { BounceMessage } from "./bounce-message.ts";
import { classifyFailure } from "./classify-reason.ts";
import { addressOf, parseDeliveryStatus } from "./dsn-fields.ts";
import type { DsnRecipient } from "./dsn-fields.ts";
import { errorStatusOf } from "./reasons.ts";
import type { ErrorStatus, Reason } from "./reasons.ts";
import { findEnhancedStatus, findReplyCode } from "./smtp-status.ts";
import { findAddresses, findLineRecipients, originalTo, pastedOriginal, reportPart, transcriptSenders } from "./text-report.ts";
import type { TextRecipient } from "./text-report.ts";
import { nonBounceKind } from "./non-bounce.ts";
import { sesNotification } from "./ses-notification.ts";
import { smtpCommandIn } from "./smtp-command.ts";

/** Recipients reported per mail at most; a real report lists a handful. */
export const MAX_RECIPIENTS = 1000;
/** Characters of diagnostic text kept per recipient in the result. */
export const MAX_DIAGNOSTIC_OUTPUT = 1000;

export interface BounceRecipient {
  readonly address: string;
  /** RFC 3463 status ("5.1.1"), or "" when the report carries none. */
  readonly enhancedStatus: string;
  /** SMTP reply code ("550"), or "". */
  readonly replyCode: string;
  /** SPEC 2.1 error status; null when the mail is not a bounce. */
  readonly errorStatus: ErrorStatus | null;
  /** The server's response or the report's explanation, white space collapsed, bounded. */
  readonly diagnostic: string;
  readonly reason: Reason;
}

export interface BounceAnalysis {
  /** False for complaint reports, auto-replies and success notices: no `bounced` event. */
  readonly bounce: boolean;
  /** In the order the report lists them. */
  readonly recipients: readonly BounceRecipient[];
}

export async function analyseBounce(raw: Uint8Array): Promise<BounceAnalysis> {
  return analyseMessage(await readBounceMessage(raw));
}

interface Reported {
  address: string;
  action: string;
  status: string;
  diagnostic: string;
  /** The Diagnostic-Code's type, lower case ("" when not an RFC 3464 report). */
  diagnosticType: string;
  /** More of the report about this recipient (its text block, or the whole report for a lone one). */
  context: string;
}

/** The analysis of a parsed mail. Pure. */
export function analyseMessage(message: BounceMessage): BounceAnalysis {
  const ses = sesNotification(message.text);
  const reported = (ses !== undefined ? ses.recipients.map((r) => ({ ...r, diagnosticType: "", context: "" })) : reportedRecipients(message)).slice(0, MAX_RECIPIENTS);
  const kind = ses?.type === "complaint" ? { reason: "feedback" as const } : nonBounceKind(message, reported);
  if (kind !== undefined) {
    const addresses = kind.addresses ?? reported.map((r) => r.address);
    return {
      bounce: false,
      recipients: addresses.map((address) => ({
        address,
        enhancedStatus: "",
        replyCode: "",
        errorStatus: null,
        diagnostic: "",
        reason: kind.reason,
      })),
    };
  }
  // A mail that names no failed recipient reports nothing the relay could act on.
  return { bounce: reported.length > 0, recipients: reported.map(toRecipient) };
}

function toRecipient(r: Reported): BounceRecipient {
  const diagnostic = r.diagnostic.replace(/\s+/g, " ").trim();
  const enhancedStatus = findEnhancedStatus(r.status) || findEnhancedStatus(diagnostic);
  const replyCode = findReplyCode(diagnostic);
  const context = r.context.replace(/\s+/g, " ").trim();
  const command = smtpCommandIn(`${diagnostic} ${context}`.toLowerCase());
  const reason = classifyFailure({ diagnostic: serverReply(diagnostic), status: enhancedStatus, replyCode, action: r.action, command, context, diagnosticType: r.diagnosticType });
  return {
    address: r.address,
    enhancedStatus,
    replyCode,
    errorStatus: errorStatusOf(reason),
    diagnostic: diagnostic.slice(0, MAX_DIAGNOSTIC_OUTPUT),
    reason,
  };
}

// "5.1.0 - Unknown address error 550-'5.7.1 … Access denied' (delivery attempts: 0)": a relay's own
// label, then the server's reply quoted. Anchored, bounded, no nesting: linear.
const LABELLED_REPLY = /^[245]\.\d{1,3}\.\d{1,3} - [^']{1,80} ([245]\d\d)-'/;

/** The server's words in a diagnostic that wraps them in a relay's own label; else the diagnostic. */
function serverReply(diagnostic: string): string {
  const labelled = LABELLED_REPLY.exec(diagnostic);
  const end = diagnostic.lastIndexOf("'");
  if (labelled === null || end < labelled[0].length) return diagnostic;
  return `${labelled[1]} ${diagnostic.slice(labelled[0].length, end)}`;
}

function reportedRecipients(message: BounceMessage): Reported[] {
  const report = reportPart(message.text);
  // The bounce's sender never failed; its receiver (the original sender) may have, mailing itself.
  // The envelope sender quoted in a session transcript never failed either.
  const lines = findLineRecipients(report, new Set([message.from, ...transcriptSenders(report)]));

  const dsn = dsnRecipients(message, report);
  if (dsn.length > 0) {
    return dsn.map((r) => {
      const block = blockFor(lines, r);
      const context = block ?? (dsn.length === 1 ? report : "");
      // "Final-Recipient: rfc822; @host" lost the local part; a lone recipient is the original's To.
      const address = r.address.startsWith("@") && dsn.length === 1 ? (originalRecipients(message)[0] ?? r.address) : r.address;
      // Without a Diagnostic-Code, a comment in the Status field ("4.0.0 (host name lookup failure)")
      // is the report's own explanation.
      const diagnostic = r.diagnostic || statusComment(r.status) || context;
      return { address, action: r.action, status: r.status, diagnostic, diagnosticType: r.diagnostic !== "" ? r.diagnosticType : "", context };
    });
  }
  // Exim (and Google) name the failed recipients in a header: trust it over addresses in the prose.
  const failed = (message.headers.get("x-failed-recipients") ?? "").split(/[,\n]/).map(addressOf).filter((a) => a.includes("@"));
  if (failed.length > 0) {
    return failed.map((address) => {
      const block = lines.find((l) => l.address === address)?.block;
      return { address, action: "", status: "", diagnostic: block ?? report, diagnosticType: "", context: failed.length === 1 ? report : (block ?? "") };
    });
  }
  if (lines.length > 0) {
    return lines.map((l) => ({ address: l.address, action: "", status: "", diagnostic: l.block, diagnosticType: "", context: lines.length === 1 ? report : l.block }));
  }
  const exclude = new Set([message.from, ...message.to].filter((a) => a !== ""));
  const found = findAddresses(report, exclude).slice(0, 1);
  const addresses = found.length > 0 ? found : originalRecipients(message).slice(0, 1);
  return addresses.map((address) => ({ address, action: "", status: "", diagnostic: report, diagnosticType: "", context: report }));
}

function dsnRecipients(message: BounceMessage, report: string): DsnRecipient[] {
  const parts = [...message.deliveryStatus];
  // No report part: the fields may be pasted into the text, in the report or in a bounce forwarded
  // whole below it (the notice then only says that something failed).
  const pasted = /^(?:final|original)-recipient:/im;
  if (parts.length === 0 && pasted.test(report)) parts.push(report);
  else if (parts.length === 0 && pasted.test(message.text)) parts.push(message.text);
  const found: DsnRecipient[] = [];
  for (const part of parts) {
    found.push(...parseDeliveryStatus(part).recipients);
  }
  return found;
}

/** "4.0.0 (cat.example.net: host name lookup failure)" → "cat.example.net: host name lookup failure". */
function statusComment(status: string): string {
  const open = status.indexOf("(");
  const close = status.lastIndexOf(")");
  return open !== -1 && close > open ? status.slice(open + 1, close).trim() : "";
}

function blockFor(lines: readonly TextRecipient[], r: DsnRecipient): string | undefined {
  return lines.find((l) => l.address === r.address || l.address === r.originalRecipient)?.block;
}

/** To addresses of the returned original, when the report names nobody. */
function originalRecipients(message: BounceMessage): string[] {
  for (const headers of message.originalHeaders) {
    const to = originalTo(headers);
    if (to.length > 0) return to;
  }
  // No MIME structure: the original was pasted into the text after the report.
  return originalTo(pastedOriginal(message.text));
}
