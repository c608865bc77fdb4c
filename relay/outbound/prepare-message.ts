// The bytes the relay sends: the spooled message with every line ending made CRLF (RFC 5321 2.3.8: a
// bare CR or LF is not a line ending on the wire, and some servers refuse or mangle it), the relay's
// Received header on top, and a hop count for loop detection. Pure and linear in the message size.
import { isAscii } from "node:buffer";

export type PreparedMessage =
  | { readonly kind: "ok"; readonly message: Buffer; readonly hops: number; readonly eightBit: boolean }
  /** More Received headers than allowed: the mail is going round in circles. */
  | { readonly kind: "loop"; readonly hops: number };

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from("\r\n");

/** Bare CR and bare LF become CRLF; a CRLF stays as it is. */
export function toCrlf(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    if (byte === CR) {
      if (raw[i + 1] === LF) {
        i++;
        continue;
      }
    } else if (byte !== LF) {
      continue;
    }
    parts.push(raw.subarray(start, i), CRLF);
    start = i + 1;
  }
  if (parts.length === 0) return raw;
  parts.push(raw.subarray(start));
  return Buffer.concat(parts);
}

/** Received header fields in the header section of a CRLF message (continuation lines not counted). */
export function countReceived(message: Buffer): number {
  let count = 0;
  for (let line = 0; line < message.length; ) {
    const end = message.indexOf(CRLF, line);
    const next = end === -1 ? message.length : end + 2;
    if (end === line) break; // the empty line ending the header section
    if (startsWithReceived(message, line)) count++;
    line = next;
  }
  return count;
}

function startsWithReceived(message: Buffer, at: number): boolean {
  return message.toString("latin1", at, at + 9).toLowerCase() === "received:";
}

/**
 * `received` is the relay's own trace field (CRLF-terminated), or null when the spooled message already
 * carries it. More than `maxReceived` Received fields, the relay's included, is a loop (Exim's default
 * limit is 30; Postfix counts to 50).
 */
export function prepareMessage(raw: Buffer, received: Buffer | null, maxReceived: number): PreparedMessage {
  const body = toCrlf(raw);
  const message = received === null ? body : Buffer.concat([received, body]);
  const hops = countReceived(message);
  if (hops > maxReceived) return { kind: "loop", hops };
  return { kind: "ok", message, hops, eightBit: !isAscii(message) };
}
