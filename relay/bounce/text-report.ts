// Recipients and their error text in the human-readable part of a bounce: the only report many mail
// systems send (qmail, Exim, Yahoo, Gmail's older notices, carriers' gateways), and a useful
// complement to the RFC 3464 fields of the others. Pure; every scan is a bounded-pattern pass over
// lines, so the cost is linear in the text.
import { separatorRules } from "./report-layout.ts";

export interface TextRecipient {
  readonly address: string;
  /** The lines that belong to this recipient: from the line naming it up to the next recipient. */
  readonly block: string;
}

// Local part and domain with bounded lengths; no nested quantifiers.
const ADDRESS = /[A-Za-z0-9._%+\-=/!#$&'*?^`{|}~]{1,64}@[A-Za-z0-9][A-Za-z0-9.-]{0,252}[A-Za-z0-9]/g;
// A line that starts with an address (after blanks, quotes, angle brackets, list markers).
const LEADING_ADDRESS = /^[\s"'<*•-]{0,8}(?:[245]\d\d[ -]<?)?(?:(?:recipient|recipient address|address|addressee|rcpt to|failed recipient|original recipient)s?\s?:\s?<?)?([A-Za-z0-9._%+\-=/!#$&'*?^`{|}~]{1,64}@[A-Za-z0-9][A-Za-z0-9.-]{0,252}[A-Za-z0-9])/i;

/** The report part of `text`: everything before the returned original message starts. */
export function reportPart(text: string): string {
  const lines = text.split("\n");
  for (let i = 1; i < lines.length; i++) {
    if (separatorRules.some((rule) => rule(lines[i]!))) return lines.slice(0, i).join("\n");
  }
  return text;
}

/** The returned original pasted into the text after the report ("" when there is none). */
export function pastedOriginal(text: string): string {
  return text.slice(reportPart(text).length);
}

/** Addresses that are not the failed recipient: the bounce's own sender and receiver, daemons. */
export function isServiceAddress(address: string): boolean {
  // "From: mailer-daemon" without a domain is the daemon too.
  const at = address.indexOf("@");
  const local = at === -1 ? address : address.slice(0, at);
  return /^(?:mailer-daemon|mail-daemon|maildaemon|mailerdaemon|mdaemon)$/i.test(local);
}

/**
 * Recipients named at the start of a line (`<user@host>:`, `  user@host`, `user@host: text`), each with
 * its block of text: the lines up to the next line naming a recipient. A repeated address keeps its
 * first block (reports often say it all twice, in two languages).
 */
export function findLineRecipients(report: string, exclude: ReadonlySet<string>): TextRecipient[] {
  const lines = report.split("\n");
  // Every line naming another recipient ends the block before it, also when it repeats an address.
  const marks: { line: number; address: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = LEADING_ADDRESS.exec(lines[i]!.slice(0, 400));
    if (match === null) continue;
    const address = cleanAddress(match[1]!);
    if (exclude.has(address) || isServiceAddress(address) || namesSender(lines, i)) continue;
    // The same address again right away continues its block ("<a@b>: host said:\n  <a@b>... unknown").
    if (marks.at(-1)?.address === address) continue;
    marks.push({ line: i, address });
  }
  const found: TextRecipient[] = [];
  marks.forEach((mark, k) => {
    if (found.some((f) => f.address === mark.address)) return;
    found.push({ address: mark.address, block: lines.slice(mark.line, marks[k + 1]?.line ?? lines.length).join("\n") });
  });
  return found;
}

// "A message sent by\n  <user@host>\ncould not be delivered": the address on the next line is the sender.
function namesSender(lines: readonly string[], index: number): boolean {
  for (let i = index - 1; i >= 0 && i >= index - 3; i--) {
    const previous = lines[i]!.trim().toLowerCase();
    if (previous === "") continue;
    return previous.endsWith("sent by") || previous.endsWith("from") || previous.endsWith("sender:");
  }
  return false;
}

// ">>> MAIL From:<user@host>" in a session transcript: the envelope sender. Anchored, bounded: linear.
const TRANSCRIPT_SENDER = /^\s{0,8}>>> ?mail from: ?<([^<>\s]{1,320})>/i;

/** The envelope senders named by the session transcripts in `report`: they never failed as recipients. */
export function transcriptSenders(report: string): string[] {
  const found: string[] = [];
  for (const line of report.split("\n")) {
    const match = TRANSCRIPT_SENDER.exec(line.slice(0, 400));
    if (match !== null) found.push(cleanAddress(match[1]!));
  }
  return found;
}

/** Every distinct address in `text`, in order of appearance, less the excluded ones. */
export function findAddresses(text: string, exclude: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(ADDRESS)) {
    const address = cleanAddress(m[0]);
    if (exclude.has(address) || isServiceAddress(address) || found.includes(address)) continue;
    found.push(address);
    if (found.length >= 50) break;
  }
  return found;
}

function cleanAddress(address: string): string {
  let a = address.toLowerCase();
  while (a.endsWith(".")) a = a.slice(0, -1);
  return a;
}

/** Addresses in the To field of a header section. */
export function originalTo(headers: string): string[] {
  // Anchored at a line start; the continuation group cannot overlap the first line: linear.
  const to = /^to:[ \t]*(.*(?:\n[ \t].*)*)/im.exec(headers);
  return to === null ? [] : findAddresses(to[1]!, new Set());
}
