// The body of an inbound webhook post, compatible with the seed service (SPEC 2.1): receivers written
// for it must work unchanged. Fields keep the seed's names and a fixed order:
//   api_key (only when configured), server_composition, filter, headers, text, html, subject,
//   envelope-from, envelope-to, attachments (count), then in multipart the files attachment1..N.
// The body is built as one Buffer because the signature covers its exact bytes.
import { randomBytes } from "node:crypto";
import type { AttachmentContent, MailContent } from "./mail-content.ts";

export type InboundBodyFormat = "multipart" | "json";

export type InboundContext = {
  /** relay.yaml `serverComposition`. */
  serverComposition: string;
  /** The InboundWebhook's metadata.name. */
  filter: string;
  envelopeFrom: string;
  /** The one envelope recipient this post is for. */
  envelopeTo: string;
  apiKey?: string | undefined;
};

export type RenderedBody = { contentType: string; body: Buffer };

/** Seed fields shared by both formats, in wire order; values are still typed for JSON. */
function seedFields(mail: MailContent, context: InboundContext) {
  return {
    ...(context.apiKey === undefined ? {} : { api_key: context.apiKey }),
    server_composition: context.serverComposition,
    filter: context.filter,
    headers: mail.headers,
    text: mail.text,
    html: mail.html,
    subject: mail.subject,
    "envelope-from": context.envelopeFrom,
    "envelope-to": context.envelopeTo,
    attachments: mail.attachments.length,
  };
}

export function renderInboundBody(format: InboundBodyFormat, mail: MailContent, context: InboundContext): RenderedBody {
  return format === "json" ? renderJson(mail, context) : renderMultipart(mail, context);
}

/**
 * `application/json`: `headers` is a nested array and `attachments` a number. Attachment bodies are not
 * sent; `attachment-info` (a mailhook addition) lists each one's filename, content type and size.
 */
function renderJson(mail: MailContent, context: InboundContext): RenderedBody {
  const body = {
    ...seedFields(mail, context),
    "attachment-info": mail.attachments.map((attachment, i) => ({
      filename: attachmentFilename(attachment, i),
      contentType: attachmentContentType(attachment),
      size: attachment.content.length,
    })),
  };
  return { contentType: "application/json", body: Buffer.from(JSON.stringify(body), "utf8") };
}

type Part = { disposition: string; contentType?: string; content: Buffer };

/**
 * `multipart/form-data` as browsers send it (WHATWG HTML form encoding): UTF-8 names and values with no
 * per-part Content-Type, values byte-exact (no newline rewriting), and each attachment a file part whose
 * bytes are the attachment's decoded content.
 */
function renderMultipart(mail: MailContent, context: InboundContext): RenderedBody {
  const fields = seedFields(mail, context);
  const parts: Part[] = Object.entries(fields).map(([name, value]) => ({
    disposition: `form-data; name="${name}"`,
    content: Buffer.from(typeof value === "string" ? value : JSON.stringify(value), "utf8"),
  }));
  mail.attachments.forEach((attachment, i) => {
    parts.push({
      disposition: `form-data; name="attachment${i + 1}"; filename="${escapeQuoted(attachmentFilename(attachment, i))}"`,
      contentType: attachmentContentType(attachment),
      content: attachment.content,
    });
  });
  const boundary = boundaryFor(parts);
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const head = `--${boundary}\r\nContent-Disposition: ${part.disposition}\r\n${
      part.contentType === undefined ? "" : `Content-Type: ${part.contentType}\r\n`
    }\r\n`;
    chunks.push(Buffer.from(head, "utf8"), part.content, Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** A random boundary that occurs in no part (a clash is astronomically unlikely, but cheap to rule out). */
function boundaryFor(parts: readonly Part[]): string {
  for (;;) {
    const boundary = `mailhook-${randomBytes(16).toString("hex")}`;
    if (!parts.some((part) => part.content.includes(boundary))) return boundary;
  }
}

/** The HTML spec's escaping for names in a multipart/form-data header: `"`, CR and LF percent-encoded. */
function escapeQuoted(text: string): string {
  return text.replace(/["\r\n]/g, (c) => (c === '"' ? "%22" : c === "\r" ? "%0D" : "%0A"));
}

function attachmentFilename(attachment: AttachmentContent, index: number): string {
  return attachment.filename || `attachment${index + 1}`;
}

// A media type from the mail is untrusted header text; only a plain `type/subtype` is passed on.
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,127}\/[!#$%&'*+.^_`|~0-9A-Za-z-]{1,127}$/;

function attachmentContentType(attachment: AttachmentContent): string {
  return MEDIA_TYPE.test(attachment.contentType) ? attachment.contentType.toLowerCase() : "application/octet-stream";
}
