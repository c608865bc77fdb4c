// The parts of a bounce mail that the analysis reads, taken apart with mailparser. Line endings are
// normalised first (CRLF, bare CR and LF all become LF), so the same mail gives the same answer
// however it was stored or transported.
import { simpleParser } from "mailparser";
import type { Attachment, HeaderLines, ParsedMail } from "mailparser";

/**
 * Bytes analysed per mail. A report sits at the front of the mail; what lies beyond is the returned
 * original (or an attack), so the rest is ignored rather than parsed.
 */
export const MAX_ANALYSED_BYTES = 2 * 1024 * 1024;
/** Characters kept of the human-readable text and of each report part. */
export const MAX_TEXT_CHARS = 256 * 1024;

export interface BounceMessage {
  /** Top-level header fields, names in lower case, values unfolded and decoded; repeated fields joined by "\n". */
  readonly headers: ReadonlyMap<string, string>;
  readonly subject: string;
  /** Address in the From field, lower case ("" when none). */
  readonly from: string;
  /** Addresses in the To field, lower case. */
  readonly to: readonly string[];
  /** `report-type` parameter of a top-level multipart/report, lower case ("" when none). */
  readonly reportType: string;
  /** The human-readable text (HTML converted to text when there is no plain text), LF line ends. */
  readonly text: string;
  /** Contents of message/delivery-status (and global) parts, in order. */
  readonly deliveryStatus: readonly string[];
  /** Contents of message/feedback-report parts (ARF). */
  readonly feedbackReport: readonly string[];
  /** Header sections of the returned original (message/rfc822, text/rfc822-headers parts). */
  readonly originalHeaders: readonly string[];
}

const EMPTY: BounceMessage = {
  headers: new Map(),
  subject: "",
  from: "",
  to: [],
  reportType: "",
  text: "",
  deliveryStatus: [],
  feedbackReport: [],
  originalHeaders: [],
};

/** CRLF, lone CR and LF all become LF; a single pass over the bytes. */
export function normaliseLineEndings(raw: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x0d) {
      out[n++] = 0x0a;
      if (raw[i + 1] === 0x0a) i++;
    } else {
      out[n++] = b;
    }
  }
  return out.subarray(0, n);
}

const DELIVERY_STATUS_TYPES = new Set(["message/delivery-status", "message/global-delivery-status"]);
const FEEDBACK_TYPES = new Set(["message/feedback-report"]);
const ORIGINAL_TYPES = new Set([
  "message/rfc822",
  "message/global",
  "text/rfc822-headers",
  "message/rfc822-headers",
  "message/global-headers",
]);

export async function readBounceMessage(raw: Uint8Array): Promise<BounceMessage> {
  const bytes = normaliseLineEndings(raw.length > MAX_ANALYSED_BYTES ? raw.subarray(0, MAX_ANALYSED_BYTES) : raw);
  let mail: ParsedMail;
  try {
    mail = await simpleParser(bytes, {
      keepDeliveryStatus: true,
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
      maxHtmlLengthToParse: MAX_TEXT_CHARS,
    });
  } catch {
    // Not parseable as MIME at all: the raw text is all there is to read.
    return { ...EMPTY, text: bytes.subarray(0, MAX_TEXT_CHARS).toString("utf8") };
  }
  const deliveryStatus: string[] = [];
  const feedbackReport: string[] = [];
  const originalHeaders: string[] = [];
  const strayText: string[] = [];
  for (const part of mail.attachments) {
    const type = part.contentType.toLowerCase();
    if (isStrayText(part, type)) strayText.push(partText(part));
    else if (DELIVERY_STATUS_TYPES.has(type)) deliveryStatus.push(partText(part));
    else if (FEEDBACK_TYPES.has(type)) feedbackReport.push(partText(part));
    else if (ORIGINAL_TYPES.has(type)) originalHeaders.push(headerSection(partText(part)));
  }
  const contentType = mail.headers.get("content-type");
  const reportType =
    typeof contentType === "object" && contentType !== null && "params" in contentType
      ? String((contentType.params as Record<string, string>)["report-type"] ?? "").toLowerCase()
      : "";
  return {
    headers: headerMap(mail.headerLines),
    subject: mail.subject ?? "",
    from: firstAddresses(mail.from)[0] ?? "",
    to: firstAddresses(mail.to),
    reportType,
    // A report part is the first part of a bounce: what mailparser set aside goes before its text.
    text: textOf([...strayText, mail.text ?? ""].join("\n"), deliveryStatus.length, bytes),
    deliveryStatus,
    feedbackReport,
    originalHeaders,
  };
}

function firstAddresses(
  field: { value: { address?: string | undefined }[] } | { value: { address?: string | undefined }[] }[] | undefined,
): string[] {
  if (field === undefined) return [];
  const objects = Array.isArray(field) ? field : [field];
  return objects.flatMap((o) => o.value.map((v) => (v.address ?? "").toLowerCase()).filter((a) => a !== ""));
}

/**
 * The readable text; when mailparser finds none (a multipart whose boundary parameter was lost, a part
 * structure it cannot follow), the raw body, so that the report in it can still be read.
 */
function textOf(text: string, reportParts: number, bytes: Buffer): string {
  if (text.trim() !== "" || reportParts > 0) return text.slice(0, MAX_TEXT_CHARS);
  const bodyStart = bytes.indexOf("\n\n");
  if (bodyStart === -1) return "";
  return bytes.subarray(bodyStart + 2, bodyStart + 2 + MAX_TEXT_CHARS).toString("utf8");
}

/**
 * A readable part that mailparser set aside because its Content-Type is garbled: the parameter
 * separator lost ("text/plain charset=…"), so the type no longer reads as text/plain.
 */
function isStrayText(part: Attachment, type: string): boolean {
  return type !== "text/plain" && type.startsWith("text/plain") && part.contentDisposition !== "attachment";
}

function partText(part: Attachment): string {
  const content = part.content.subarray(0, MAX_TEXT_CHARS);
  // Report parts are ASCII by definition (the "global" variants UTF-8); decoding as latin1 would
  // garble UTF-8 diagnostics, and UTF-8 decoding never throws.
  return normaliseLineEndings(content).toString("utf8");
}

function headerSection(text: string): string {
  const end = text.indexOf("\n\n");
  return end === -1 ? text : text.slice(0, end + 1);
}

function headerMap(lines: HeaderLines): Map<string, string> {
  const map = new Map<string, string>();
  for (const { key, line } of lines) {
    const colon = line.indexOf(":");
    const value = unfold(colon === -1 ? "" : line.slice(colon + 1));
    const previous = map.get(key);
    map.set(key, previous === undefined ? value : `${previous}\n${value}`);
  }
  return map;
}

function unfold(value: string): string {
  return value.replace(/\r?\n[ \t]+/g, " ").trim();
}
