// What an inbound post says about a mail: its top-level headers, decoded subject, text, HTML and
// attachments. Read by the fast reader (simple-mime.ts) when it takes the mail, else by mailparser;
// both give the same answer for the mails the fast one takes (a test holds them to that).
import { simpleParser, type ParsedMail, type SimpleParserOptions } from "mailparser";
import { readSimpleMime } from "./simple-mime.ts";

export type MessageHeader = { name: string; value: string };

export interface AttachmentContent {
  /** As the mail names it (decoded), or null. */
  readonly filename: string | null;
  /** Lower-case `type/subtype` as the mail declares it (guessed from the filename for octet-stream). */
  readonly contentType: string;
  /** Decoded bytes. */
  readonly content: Buffer;
}

export interface MailContent {
  /**
   * The message's top-level headers in message order: the name as written, the value unfolded (line
   * breaks removed) and trimmed, but otherwise raw — encoded-words stay encoded, as on the wire.
   */
  readonly headers: readonly MessageHeader[];
  /** Decoded; "" when there is none. */
  readonly subject: string;
  /** Text parts, joined with "\n"; "" when there are none. */
  readonly text: string;
  /** HTML parts, joined with "<br/>\n"; "" when there are none. */
  readonly html: string;
  readonly attachments: readonly AttachmentContent[];
}

// What the posted fields need and no more: no links or HTML made from text, and no attachment
// checksums (mailparser hashes every attachment with MD5 by default; nothing here sends one).
// checksumAlgo: false is mailparser's documented switch; its type definitions only know strings.
const PARSE_OPTIONS = { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true, checksumAlgo: false } as unknown as SimpleParserOptions;

/** Reads a mail; rejects only when mailparser cannot parse it at all. */
export async function readMailContent(raw: Buffer): Promise<MailContent> {
  return readSimpleMime(raw) ?? readWithMailparser(raw);
}

/** The reference reading, for every mail the fast reader declines. */
export async function readWithMailparser(raw: Buffer): Promise<MailContent> {
  return fromParsedMail(await simpleParser(raw, PARSE_OPTIONS));
}

function fromParsedMail(mail: ParsedMail): MailContent {
  return {
    headers: mail.headerLines.map(({ line }) => headerOfLine(line)),
    subject: mail.subject ?? "",
    text: mail.text ?? "",
    html: typeof mail.html === "string" ? mail.html : "",
    attachments: mail.attachments.map((a) => ({ filename: a.filename ?? null, contentType: a.contentType, content: a.content })),
  };
}

/** A raw header line (folds included) as a MessageHeader. */
export function headerOfLine(line: string): MessageHeader {
  // A malformed line without a colon is kept whole as the name, so nothing is silently dropped.
  const colon = line.includes(":") ? line.indexOf(":") : line.length;
  return { name: line.slice(0, colon).trimEnd(), value: line.slice(colon + 1).replace(/\r?\n(?=[ \t])/g, "").trim() };
}
