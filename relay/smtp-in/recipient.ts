// Whether a RCPT TO address is one this listener may take at all, before any webhook is asked.
// Pure. The listener is an MX for its accepted domains only, never an open relay:
// - the domain must be one of settings.domains, compared exactly and case-insensitively in ASCII
//   form (smtp-server hands IDN domains over in Unicode; they are converted back with IDNA);
// - address literals (`user@[192.0.2.1]`) and domainless recipients are refused;
// - `%` and `!` in the local part (the old "percent hack" and bang-path routing) are refused.
// Source routes (`<@hop:user@example.com>`) never reach this point: smtp-server drops the route as
// RFC 5321 (4.1.2, appendix C) requires, so only the final mailbox is ever considered.
import { domainToASCII } from "node:url";
import { replies, type SmtpRefusal } from "./replies.ts";

export type RecipientCheck = { ok: true; address: string } | { ok: false; refusal: SmtpRefusal };

/**
 * Checks `address` (as smtp-server parsed it) against the accepted `domains` (lower-case ASCII).
 * On success `address` is the normalised form the handler and the matching see: the local part as
 * sent, `@`, the domain in lower-case ASCII.
 */
export function checkRecipientAddress(address: string, domains: ReadonlySet<string>): RecipientCheck {
  const at = address.lastIndexOf("@");
  if (at === -1) return { ok: false, refusal: replies.noDomain() };
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (/[%!]/.test(local)) return { ok: false, refusal: replies.routedAddress() };
  const ascii = domain.startsWith("[") ? "" : domainToASCII(domain).toLowerCase();
  if (ascii === "" || !domains.has(ascii)) return { ok: false, refusal: replies.relayingDenied(ascii || domain) };
  return { ok: true, address: `${local}@${ascii}` };
}
