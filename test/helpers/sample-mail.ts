// Builds real RFC 5322 messages with nodemailer's composer, so tests feed the parser what a real MTA
// would hand it, and reads them the way the relay does (mail-content.ts).
import { randomBytes } from "node:crypto";
import { readMailContent, type MailContent } from "../../relay/deliver/mail-content.ts";
import MailComposer from "nodemailer/lib/mail-composer";
import type Mail from "nodemailer/lib/mailer";

export function composeMail(options: Mail.Options): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

export function parseMail(raw: Buffer | string): Promise<MailContent> {
  return readMailContent(typeof raw === "string" ? Buffer.from(raw) : raw);
}

/** Bytes that are not valid UTF-8 and contain every byte value, to prove binary content survives. */
export function binaryBytes(randomLength = 4096): Buffer {
  return Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(randomLength)]);
}
