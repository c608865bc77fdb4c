// The bench's mail: built once per size with nodemailer's composer, then stamped per message with its
// token (Subject and Message-ID), so the load client spends its CPU on SMTP, not on MIME.
import MailComposer from "nodemailer/lib/mail-composer";
import type { MessageSize } from "./protocol.ts";

/** Inbound: the domain mailhook accepts mail for. */
export const benchDomain = "bench.example";
export const inboundRecipient = `rcpt@${benchDomain}`;
/** Outbound: the domain routed to the sink. */
export const sinkDomain = "sink.example";
export const outboundRecipient = `rcpt@${sinkDomain}`;
export const sender = "sender@client.example";

const placeholder = "XBENCHTOKENX";

/** ~2 KB of plain ASCII text in short lines (7bit, no transfer encoding). */
function text(bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 1; size < bytes; i++) {
    const line = `line ${String(i).padStart(3, "0")}: the quick brown fox jumps over the lazy dog, again.`;
    lines.push(line);
    size += line.length + 2;
  }
  return lines.join("\r\n") + "\r\n";
}

/** Deterministic incompressible bytes (xorshift32), so every run posts the same attachment. */
function binary(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export interface MessageTemplate {
  /** The raw message with `token` in its Subject and Message-ID. */
  stamp(token: string): string;
  /** Size of a stamped message, in bytes (approximately: tokens vary in length). */
  readonly bytes: number;
}

/** small: ~2 KB of text; large: the same text plus a 70 KB binary attachment (~100 KB on the wire). */
export async function buildTemplate(size: MessageSize, recipient: string): Promise<MessageTemplate> {
  const raw = await new MailComposer({
    from: `Bench Sender <${sender}>`,
    to: `Bench Receiver <${recipient}>`,
    subject: placeholder,
    messageId: `<${placeholder}@client.example>`,
    date: new Date("2025-01-01T00:00:00Z"),
    text: text(2048),
    attachments: size === "large" ? [{ filename: "bench.bin", content: binary(70 * 1024), contentType: "application/octet-stream" }] : [],
  })
    .compile()
    .build();
  const parts = raw.toString("latin1").split(placeholder);
  if (parts.length !== 3) throw new Error(`bench message template: expected the token placeholder twice, found ${parts.length - 1}`);
  return { stamp: (token) => parts.join(token), bytes: raw.length };
}
