// The header section of a received message as ordered {name, value} fields: the input of condition
// matching and the `headers` array of the inbound payload. Only the header section is read (never
// the body), in time linear in its size, and never more than a size limit.
//
// Tolerant by design, because the mail is already accepted when this runs: line ends may be CRLF or
// bare LF; a line that is not a field (no colon, or a name outside printable ASCII, such as an mbox
// "From " line) is skipped together with its continuation lines; 8-bit bytes are read as UTF-8
// (invalid sequences become U+FFFD), as mailparser reads them.
import libmime from "libmime";

export interface HeaderField {
  /** As written in the message (matching compares names case-insensitively). */
  name: string;
  /** Unfolded (RFC 5322: line breaks before whitespace removed), trimmed, RFC 2047 words decoded. */
  value: string;
}

export class HeaderBlockError extends Error {
  readonly code = "HEADER_TOO_LARGE";
  constructor(maxBytes: number) {
    super(`header section is larger than ${maxBytes} bytes`);
    this.name = "HeaderBlockError";
  }
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Length in bytes of the header section, including the empty line that ends it (so the body starts
 * there). A message without an empty line is all header. Throws HEADER_TOO_LARGE when the section is
 * longer than `maxBytes`.
 */
export function headerSectionLength(raw: Uint8Array, maxBytes: number): number {
  const limit = Math.min(raw.length, maxBytes);
  // A message may start with the empty line: no header at all.
  if (raw[0] === LF) return 1;
  if (raw[0] === CR && raw[1] === LF) return 2;
  const view = Buffer.from(raw.buffer, raw.byteOffset, limit);
  let lf = view.indexOf(LF);
  while (lf !== -1) {
    const next = view[lf + 1];
    if (next === LF) return lf + 2;
    if (next === CR && view[lf + 2] === LF) return lf + 3;
    lf = view.indexOf(LF, lf + 1);
  }
  if (raw.length <= maxBytes) return raw.length;
  throw new HeaderBlockError(maxBytes);
}

const fieldName = /^[\x21-\x39\x3b-\x7e]+$/;
const utf8 = new TextDecoder("utf-8");

/** Parses the header section of `raw` (see HeaderField). Throws HEADER_TOO_LARGE past `maxBytes`. */
export function parseHeaderBlock(raw: Uint8Array, maxBytes: number): HeaderField[] {
  const text = utf8.decode(raw.subarray(0, headerSectionLength(raw, maxBytes)));
  const fields: HeaderField[] = [];
  // Undefined after a skipped line, so its continuation lines are skipped too (never glued to the
  // field before it).
  let current: { name: string; parts: string[] } | undefined;
  const flush = () => {
    if (current) fields.push({ name: current.name, value: decodeValue(current.parts.join("").trim()) });
    current = undefined;
  };
  for (const rawLine of text.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line === "") break;
    if (line[0] === " " || line[0] === "\t") {
      if (current) current.parts.push(line);
      continue;
    }
    flush();
    const colon = line.indexOf(":");
    // Obsolete syntax (RFC 5322 4.5) allows whitespace between the name and the colon.
    const name = colon === -1 ? "" : line.slice(0, colon).trimEnd();
    if (fieldName.test(name)) current = { name, parts: [line.slice(colon + 1)] };
  }
  flush();
  return fields;
}

function decodeValue(value: string): string {
  if (!value.includes("=?")) return value;
  try {
    return libmime.decodeWords(value);
  } catch {
    // An encoded word in an unknown charset or broken encoding: match on the text as written.
    return value;
  }
}
