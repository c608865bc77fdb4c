// The Received trace field an SMTP server must prepend to every message it accepts
// (RFC 5321 4.4). Pure. The HELO name is the client's claim, so it (and, for safety, the configured
// name) is reduced to the characters a host name or address literal can have.
import { isIPv6 } from "node:net";

/**
 * Upper bound of the field's size. The listener checks maxHeaderBytes on the message as sent, so a
 * reader of ReceivedMail.raw should allow this much more for the header section.
 */
export const MAX_RECEIVED_HEADER_BYTES = 1024;

export interface TraceInfo {
  /** The HELO/EHLO argument as the client sent it. */
  helo: string;
  remoteAddress: string;
  /** This server's name (settings.inbound.hostname). */
  hostname: string;
  /** "SMTP", "ESMTP", "ESMTPS", … (RFC 3848), as smtp-server reports it. */
  protocol: string;
  date: Date;
}

export function receivedHeader(info: TraceInfo): Buffer {
  const helo = hostLike(info.helo);
  const address = isIPv6(info.remoteAddress) ? `IPv6:${info.remoteAddress}` : info.remoteAddress;
  const protocol = /^[A-Z0-9]+$/.test(info.protocol) ? info.protocol : "SMTP";
  // toUTCString gives "Tue, 03 Jun 2025 10:00:00 GMT", an RFC 5322 date once the zone is numeric.
  const date = info.date.toUTCString().replace(/GMT$/, "+0000");
  return Buffer.from(`Received: from ${helo} ([${address}])\r\n\tby ${hostLike(info.hostname)} with ${protocol};\r\n\t${date}\r\n`);
}

function hostLike(name: string): string {
  return name.replace(/[^A-Za-z0-9.:_[\]-]/g, "").slice(0, 255) || "unknown";
}
