// A fast reading of the mails most webhooks receive — plain text, text plus HTML, attachments —
// producing exactly what mailparser's simpleParser produces for them, at a fraction of its cost:
// parts are found with Buffer.indexOf and bodies decoded in one native call each, where mailparser
// streams every byte through JavaScript.
//
// It only takes a mail it is sure to read exactly as mailparser would; for anything else it returns
// null and the caller uses mailparser (mail-content.ts). The list of what it declines is the design:
// bare LF or CR line ends, 8-bit header bytes, charsets other than UTF-8/ASCII, format=flowed, any
// message/* part, transfer encodings other than 7bit/8bit/binary/quoted-printable/base64, base64 with
// padding before its end, unusual boundaries or delimiter lines, and every text layout for which mailparser
// would convert HTML to text or text to HTML. A test runs both readers over real and generated mail
// and requires identical results whenever this one answers.
import libmime from "libmime";
import libqp from "libqp";
import { headerOfLine, type AttachmentContent, type MailContent } from "./mail-content.ts";

const TEXT_TYPES = new Set(["text/plain", "text/html"]);
const PLAIN_ENCODINGS = new Set(["", "7bit", "8bit", "binary"]);
// RFC 2046 bchars, not ending in a space: what every reader splits the same way.
const SAFE_BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const MAX_DEPTH = 8;
// Well inside mailparser's own limits (1000 parts; 1 MiB of header per part, a line counting at least
// 64 bytes): a mail past them is left to mailparser, which refuses it, as it always did.
const MAX_PARTS = 500;
const MAX_HEADER_COST = 512 * 1024;
const HEADER_LINE_MIN_COST = 64;

/** Declined: mailparser reads this mail. */
class Unsupported extends Error {}

interface Part {
  headers: { name: string; line: string }[];
  contentType: string;
  params: Record<string, string>;
  decodedParams: string[];
  disposition: string | null;
  dispositionParams: Record<string, string>;
  dispositionDecoded: string[];
  encoding: string;
  body: Buffer;
  children: Part[];
}

/** The mail's content as simpleParser would give it, or null when this reader declines the mail. */
export function readSimpleMime(raw: Buffer): MailContent | null {
  try {
    if (!crlfOnly(raw)) return null;
    const root = readPart(raw, 0, true, { parts: 0 });
    const content = textContent(root);
    const attachments: AttachmentContent[] = [];
    collectAttachments(root, attachments);
    return {
      headers: root.headers.map(({ line }) => headerOfLine(line)),
      subject: subjectOf(root),
      text: content.text,
      html: content.html,
      attachments,
    };
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}

/** Every LF is preceded by CR and every CR followed by LF. */
function crlfOnly(raw: Buffer): boolean {
  let crs = 0;
  for (let i = raw.indexOf(0x0d); i !== -1; i = raw.indexOf(0x0d, i + 1)) {
    if (raw[i + 1] !== 0x0a) return false;
    crs++;
  }
  let lfs = 0;
  for (let i = raw.indexOf(0x0a); i !== -1; i = raw.indexOf(0x0a, i + 1)) lfs++;
  return crs === lfs;
}

function readPart(bytes: Buffer, depth: number, root: boolean, count: { parts: number }): Part {
  if (depth > MAX_DEPTH || ++count.parts > MAX_PARTS) throw new Unsupported();
  const end = bytes.indexOf("\r\n\r\n");
  if (end === -1 || (bytes.length >= 2 && bytes[0] === 0x0d)) throw new Unsupported();
  const headers = readHeaders(bytes.subarray(0, end));
  const body = bytes.subarray(end + 4);
  const first = (name: string) => {
    const found = headers.filter((h) => h.name.toLowerCase() === name);
    if (found.length > 1) throw new Unsupported();
    // Unfolded as mailparser reads it: each fold and its whitespace become one space.
    return found[0] === undefined ? undefined : libmime.decodeHeader(found[0].line).value;
  };
  const typeHeader = first("content-type");
  const dispositionHeader = first("content-disposition");
  if (typeHeader === undefined && dispositionHeader !== undefined) throw new Unsupported();
  const type = libmime.parseHeaderValue(typeHeader ?? "text/plain", { stripComments: true });
  const disposition = dispositionHeader === undefined ? undefined : libmime.parseHeaderValue(dispositionHeader, { stripComments: true });
  const encoding = (first("content-transfer-encoding") ?? "").toLowerCase().trim();
  if (!PLAIN_ENCODINGS.has(encoding) && encoding !== "base64" && encoding !== "quoted-printable") throw new Unsupported();
  const contentType = type.value.toLowerCase().trim();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(contentType) || contentType.startsWith("message/")) throw new Unsupported();
  const part: Part = {
    headers,
    contentType,
    params: type.params,
    decodedParams: type.decodedParams ?? [],
    disposition: disposition === undefined ? null : disposition.value.toLowerCase().trim(),
    dispositionParams: disposition?.params ?? {},
    dispositionDecoded: disposition?.decodedParams ?? [],
    encoding,
    body,
    children: [],
  };
  if (part.disposition !== null && (part.disposition === "" || /[^a-z0-9-]/.test(part.disposition))) throw new Unsupported();
  if (contentType.startsWith("multipart/")) {
    if (!root && depth === 0) throw new Unsupported();
    const boundary = part.params.boundary;
    if (boundary === undefined || !SAFE_BOUNDARY.test(boundary) || encoding !== "" && !PLAIN_ENCODINGS.has(encoding)) throw new Unsupported();
    // mailsplit gives a part with no body at all the line break before the delimiter: declined.
    part.children = splitMultipart(body, boundary).map((child) => readPart(child, depth + 1, false, count));
    if (part.children.some((child) => child.children.length === 0 && child.body.length === 0)) throw new Unsupported();
    if (part.children.length === 0) throw new Unsupported();
  } else {
    // mailparser's splitter looks for delimiters in any part that names a boundary.
    if (part.params.boundary !== undefined) throw new Unsupported();
    const charset = (part.params.charset ?? "").toLowerCase().replace(/[^a-z0-9]+/g, "");
    if (TEXT_TYPES.has(contentType) && !["", "utf8", "usascii", "ascii"].includes(charset)) throw new Unsupported();
    if (contentType === "text/plain" && part.params.format !== undefined && part.params.format.toLowerCase().trim() === "flowed") throw new Unsupported();
  }
  return part;
}

/** Header fields of one part: the name and the raw line (folds included). ASCII only. */
function readHeaders(block: Buffer): Part["headers"] {
  for (const byte of block) if (byte >= 0x80 || byte === 0) throw new Unsupported();
  const text = block.toString("latin1");
  const fields: Part["headers"] = [];
  let cost = 0;
  for (const line of text.split("\r\n")) {
    cost += Math.max(line.length, HEADER_LINE_MIN_COST);
    if (cost > MAX_HEADER_COST) throw new Unsupported();
    if (line[0] === " " || line[0] === "\t") {
      const last = fields.at(-1);
      if (last === undefined) throw new Unsupported();
      last.line += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon < 1 || !/^[\x21-\x39\x3b-\x7e]+$/.test(line.slice(0, colon))) throw new Unsupported();
    fields.push({ name: line.slice(0, colon), line });
  }
  return fields;
}

/**
 * The bodies of the parts between `--boundary` lines. Declines anything a reader might split
 * differently: a delimiter line with anything after it, a missing close delimiter, a boundary that
 * also opens a line inside a part, or content after the close delimiter other than an epilogue.
 */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const dash = `--${boundary}`;
  const starts: number[] = [];
  let at = body.subarray(0, dash.length).toString("latin1") === dash ? 0 : body.indexOf(`\r\n${dash}`);
  if (at > 0) at += 2;
  const parts: Buffer[] = [];
  let closed = false;
  while (at !== -1) {
    const after = at + dash.length;
    const close = body[after] === 0x2d && body[after + 1] === 0x2d;
    const lineEnd = after + (close ? 2 : 0);
    if (!(lineEnd === body.length || (body[lineEnd] === 0x0d && body[lineEnd + 1] === 0x0a))) throw new Unsupported();
    if (starts.length > 0) parts.push(body.subarray(starts.at(-1), at - 2));
    if (close) {
      closed = true;
      break;
    }
    starts.push(lineEnd + 2);
    const next = body.indexOf(`\r\n${dash}`, lineEnd);
    at = next === -1 ? -1 : next + 2;
  }
  if (!closed) throw new Unsupported();
  return parts;
}

function subjectOf(root: Part): string {
  const subjects = root.headers.filter((h) => h.name.toLowerCase() === "subject");
  if (subjects.length === 0) return "";
  if (subjects.length > 1) throw new Unsupported();
  const value = libmime.decodeHeader(subjects[0]!.line).value.toString().trim();
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

function isAttachment(part: Part): boolean {
  if (part.children.length > 0) return false;
  if (!TEXT_TYPES.has(part.contentType)) return true;
  return normalDisposition(part) !== "inline";
}

function normalDisposition(part: Part): string {
  const d = part.disposition;
  if (d === null || d === "") return TEXT_TYPES.has(part.contentType) ? "inline" : "attachment";
  return d === "inline" || d === "attachment" ? d : "attachment";
}

/**
 * mailparser's getTextContent for the layouts where it neither converts HTML to text nor text to HTML:
 * text parts joined with "\n", HTML parts with "<br/>\n".
 */
function textContent(root: Part): { text: string; html: string } {
  const inline: { part: Part; alternative: boolean }[] = [];
  const walk = (part: Part, alternative: boolean) => {
    if (part.children.length === 0) {
      if (!isAttachment(part)) inline.push({ part, alternative });
      return;
    }
    const inside = alternative || part.contentType === "multipart/alternative";
    for (const child of part.children) walk(child, inside);
  };
  walk(root, false);
  const hasText = inline.some((i) => i.part.contentType === "text/plain");
  const hasHtml = inline.some((i) => i.part.contentType === "text/html");
  const text: string[] = [];
  const html: string[] = [];
  for (const { part, alternative } of inline) {
    const content = decodeBody(part).toString().replace(/\r?\n/g, "\n");
    // mailparser fills an empty part's place with nothing: its textContent is falsy.
    if (content === "") continue;
    if (part.contentType === "text/plain") {
      if (!alternative && hasHtml) throw new Unsupported();
      text.push(content);
    } else {
      if ((!alternative && hasText) || (part === root && !hasText)) throw new Unsupported();
      html.push(content);
    }
  }
  return { text: text.join("\n"), html: html.join("<br/>\n") };
}

function collectAttachments(part: Part, into: AttachmentContent[]): void {
  if (part.children.length > 0) {
    for (const child of part.children) collectAttachments(child, into);
    return;
  }
  if (!isAttachment(part)) return;
  const filename = filenameOf(part);
  let contentType = part.contentType;
  if (contentType === "application/octet-stream" && filename !== null) contentType = libmime.detectMimeType(filename) || contentType;
  into.push({ filename, contentType, content: decodeBody(part) });
}

/** As mailsplit names a part's file: disposition filename, else type name; encoded words decoded once. */
function filenameOf(part: Part): string | null {
  const fromDisposition = part.dispositionParams.filename;
  const name = fromDisposition || part.params.name;
  if (!name) return null;
  const rfc2231 = fromDisposition ? part.dispositionDecoded.includes("filename") : part.decodedParams.includes("name");
  if (rfc2231) return name;
  try {
    return libmime.decodeWords(name) || null;
  } catch {
    return name;
  }
}

function decodeBody(part: Part): Buffer {
  switch (part.encoding) {
    case "base64":
      return decodeBase64(part.body);
    case "quoted-printable":
      return libqp.decode(part.body.toString("latin1"));
    default:
      return part.body;
  }
}

/**
 * Node's decoder skips what is not a base64 symbol, as mailparser's does. They differ on padding
 * before the end (Node stops there, mailparser goes on) and on the base64url symbols `-` and `_`
 * (Node decodes them, mailparser skips them): such a body is declined.
 */
function decodeBase64(body: Buffer): Buffer {
  if (body.includes(0x2d) || body.includes(0x5f)) throw new Unsupported();
  const padding = body.indexOf(0x3d);
  if (padding !== -1) {
    for (let i = padding; i < body.length; i++) {
      const byte = body[i];
      if (byte !== 0x3d && byte !== 0x0d && byte !== 0x0a) throw new Unsupported();
    }
  }
  return Buffer.from(body.toString("latin1"), "base64");
}
