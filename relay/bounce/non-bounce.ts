// Mails that reach the bounce address but report no failure: complaint reports (ARF, RFC 5965),
// auto-replies (RFC 3834 and the usual vendor headers) and delivery-success notices (DSN actions
// delivered, relayed, expanded). None of them may produce a `bounced` event. Pure.
import type { BounceMessage } from "./bounce-message.ts";
import { addressOf } from "./dsn-fields.ts";
import { isServiceAddress, originalTo } from "./text-report.ts";
import type { Reason } from "./reasons.ts";

export interface NonBounce {
  readonly reason: Extract<Reason, "feedback" | "vacation" | "delivered">;
  /** Whom the notice is about, when it says so differently from the report's recipients. */
  readonly addresses?: readonly string[];
}

const COMPLAINT_RECIPIENT_FIELDS = new Set(["original-rcpt-to", "removal-recipient"]);
// "deliverable" is what some servers answer to a NOTIFY=SUCCESS probe.
const SUCCESS_ACTIONS = new Set(["delivered", "deliverable", "relayed", "expanded"]);
const AUTO_REPLY_SUBJECTS = ["auto:", "automatic reply", "autoreply", "auto-reply", "auto reply", "out of office", "out of the office", "away from", "away until", "vacation", "abwesenheit", "absence"];

export function nonBounceKind(message: BounceMessage, reported: readonly { address: string; action: string }[]): NonBounce | undefined {
  if (message.feedbackReport.length > 0 || message.reportType === "feedback-report") {
    return { reason: "feedback", addresses: complainedRecipients(message) };
  }
  if (reported.length > 0 && reported.every((r) => SUCCESS_ACTIONS.has(r.action))) return { reason: "delivered" };
  // "From: mailer-daemon" (no domain) parses to no address; the field itself still names the daemon.
  const sender = message.from || addressOf(message.headers.get("from") ?? "");
  if (message.deliveryStatus.length === 0 && !isServiceAddress(sender) && isAutoReply(message)) {
    return { reason: "vacation", addresses: message.from === "" ? [] : [message.from] };
  }
  return undefined;
}

function isAutoReply(message: BounceMessage): boolean {
  const autoSubmitted = (message.headers.get("auto-submitted") ?? "").toLowerCase();
  if (autoSubmitted.startsWith("auto-replied")) return true;
  for (const name of ["x-autoreply", "x-autorespond", "x-autoresponder", "x-vacation"]) {
    if (message.headers.has(name)) return true;
  }
  const precedence = (message.headers.get("precedence") ?? "").toLowerCase();
  if (precedence === "auto_reply") return true;
  const subject = message.subject.toLowerCase();
  return AUTO_REPLY_SUBJECTS.some((s) => subject.startsWith(s));
}

function complainedRecipients(message: BounceMessage): string[] {
  const found: string[] = [];
  for (const part of message.feedbackReport) {
    // These fields may repeat, one per recipient.
    for (const line of part.split("\n")) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim().toLowerCase();
      if (colon > 0 && COMPLAINT_RECIPIENT_FIELDS.has(name)) {
        const address = addressOf(line.slice(colon + 1));
        if (address.includes("@") && !found.includes(address)) found.push(address);
      }
    }
  }
  if (found.length > 0) return found;
  // Reports that name no recipient: whom the complained-about mail was addressed to.
  for (const headers of message.originalHeaders) {
    const to = originalTo(headers);
    if (to.length > 0) return to;
  }
  // mailparser renders an inline message/rfc822 part into the text, its To field with it.
  return originalTo(message.text);
}
