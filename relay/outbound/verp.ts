// The return path of outbound mail: VERP-style `<localPart>+<jobId>@<bounceDomain>`, so that a bounce
// mail sent to it names the delivery job it is about, whatever the bouncing system's report looks like.
// Pure. Job ids are lower-case base32 (RFC 4648 alphabet): some systems lower-case the address they
// bounce to, and a case-folded token must still name its job.
import { randomBytes } from "node:crypto";

export interface VerpOptions {
  /** The domain bounce mail is accepted for (the inbound listener must accept it); null: no VERP. */
  readonly bounceDomain: string | null;
  /** Local part before the `+`; default `bounce`. */
  readonly localPart?: string;
}

const DEFAULT_LOCAL_PART = "bounce";
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
/** 26 base32 characters: 130 bits, of which 128 are random. */
const TOKEN = /^[a-z2-7]{26}$/;

/** A new outbound job id: random, collision-free, valid in a local part, and safe from case folding. */
export function newOutboundJobId(): string {
  const bytes = randomBytes(17);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

export function isOutboundJobId(text: string): boolean {
  return TOKEN.test(text);
}

/**
 * The envelope sender for one job's delivery. The null sender stays null (a bounce must never be
 * bounced, RFC 5321 4.5.5); without a bounce domain the original sender is kept.
 */
export function returnPathFor(options: VerpOptions, envelopeFrom: string, jobId: string): string {
  if (envelopeFrom === "" || options.bounceDomain === null) return envelopeFrom;
  return `${options.localPart ?? DEFAULT_LOCAL_PART}+${jobId}@${options.bounceDomain}`;
}

/** The job id a bounce was sent to, or undefined when the address is not one of our return paths. */
export function jobIdFromReturnPath(options: VerpOptions, address: string): string | undefined {
  if (options.bounceDomain === null) return undefined;
  const at = address.lastIndexOf("@");
  if (at < 0 || address.slice(at + 1).toLowerCase() !== options.bounceDomain.toLowerCase()) return undefined;
  const local = address.slice(0, at).toLowerCase();
  const prefix = `${(options.localPart ?? DEFAULT_LOCAL_PART).toLowerCase()}+`;
  if (!local.startsWith(prefix)) return undefined;
  const token = local.slice(prefix.length);
  return TOKEN.test(token) ? token : undefined;
}
