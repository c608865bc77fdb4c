// Limits checked on the DATA stream as it arrives (smtp-server only advertises SIZE and counts
// bytes; it enforces nothing). Pure and incremental: feed it the chunks in order, it reports the
// first violation. Linear in the message size, constant memory.
//
// The scan jumps with Buffer.indexOf from one byte that matters to the next (a line end, or a CR
// followed by "."), counting the bytes in between at once; only those bytes are looked at one by one.
//
// Besides the size limits it guards against SMTP smuggling (CVE-2023-51766 and relatives).
// smtp-server ends DATA only on <CRLF>.<CRLF>, so a sequence that other servers take as the end,
// such as <LF>.<LF>, <LF>.<CRLF>, <CRLF>.<LF> or <CR>.<CRLF>, stays inside this message and cannot
// start a second transaction here. But such a message is ambiguous for every server it travels
// through afterwards, and no legitimate sender produces one, so it is refused: any line holding a
// single "." that is not both preceded and followed by CRLF. (A "." line between CRLFs in the
// un-stuffed content is legitimate: the sender dot-stuffed it.)

export type DataViolation = "too_large" | "header_too_large" | "line_too_long" | "ambiguous_end_of_data";

export interface DataLimits {
  maxMessageBytes: number;
  /** Longest line, in bytes without its line end. */
  maxLineBytes: number;
  /** Largest header section, the empty line that ends it included. */
  maxHeaderBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
/** A bare CR followed by "." also starts a line for the smuggling check (see above). */
const CR_DOT = Buffer.from("\r.");

// Where the scan is relative to a "." that started a line.
const NO_DOT = 0;
const AFTER_DOT = 1;
const AFTER_DOT_CR = 2;

export class DataGuard {
  readonly #limits: DataLimits;
  #bytes = 0;
  #violation: DataViolation | undefined;
  #lineBytes = 0;
  #inHeader = true;
  #headerBytes = 0;
  // The two bytes before the current one. DATA starts right after the command's CRLF.
  #prev1 = LF;
  #prev2 = CR;
  #dot = NO_DOT;
  #dotAfterCrlf = false;

  constructor(limits: DataLimits) {
    this.#limits = limits;
  }

  /** Bytes seen so far (also after a violation, which stops the other checks). */
  get bytes(): number {
    return this.#bytes;
  }

  get violation(): DataViolation | undefined {
    return this.#violation;
  }

  /** Feeds the next chunk; returns the first violation seen so far, if any. */
  push(chunk: Uint8Array): DataViolation | undefined {
    this.#bytes += chunk.length;
    if (this.#violation) return this.#violation;
    if (this.#bytes > this.#limits.maxMessageBytes) return (this.#violation = "too_large");
    this.#violation = this.#scan(chunk);
    return this.#violation;
  }

  #scan(chunk: Uint8Array): DataViolation | undefined {
    const { maxLineBytes, maxHeaderBytes } = this.#limits;
    let prev1 = this.#prev1;
    let prev2 = this.#prev2;
    let lineBytes = this.#lineBytes;
    let inHeader = this.#inHeader;
    let headerBytes = this.#headerBytes;
    let dot = this.#dot;
    let dotAfterCrlf = this.#dotAfterCrlf;
    let violation: DataViolation | undefined;

    const view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const n = view.length;
    // Where the next LF and the next CR "." are at or after i (-1: none in this chunk).
    let nextLf = -2;
    let nextCrDot = -2;
    for (let i = 0; i < n; i++) {
      if (dot === NO_DOT && !(view[i] === DOT && (prev1 === LF || prev1 === CR))) {
        // Nothing from i up to `stop` can change the dot state or end a line: count those bytes at once.
        if (nextLf !== -1 && nextLf < i) nextLf = view.indexOf(LF, i);
        if (nextCrDot !== -1 && nextCrDot < i) nextCrDot = view.indexOf(CR_DOT, i);
        let stop = nextLf === -1 ? n : nextLf;
        if (nextCrDot !== -1 && nextCrDot < stop) stop = nextCrDot;
        const skipped = stop - i;
        if (skipped > 0) {
          // Which limit the byte-by-byte count would have hit first (the header's on a tie).
          const headerRoom = inHeader ? maxHeaderBytes - headerBytes : Infinity;
          const lineRoom = maxLineBytes + 1 - lineBytes;
          if (headerRoom < skipped && headerRoom <= lineRoom) {
            violation = "header_too_large";
            break;
          }
          if (lineRoom < skipped) {
            violation = "line_too_long";
            break;
          }
          if (inHeader) headerBytes += skipped;
          lineBytes += skipped;
          prev2 = skipped > 1 ? view[stop - 2]! : prev1;
          prev1 = view[stop - 1]!;
          i = stop;
          if (i === n) break;
        }
      }
      const b = view[i]!;
      if (dot === AFTER_DOT) {
        if (b === LF) {
          violation = "ambiguous_end_of_data";
          break;
        }
        dot = b === CR ? AFTER_DOT_CR : NO_DOT;
      } else if (dot === AFTER_DOT_CR) {
        if (b !== LF || !dotAfterCrlf) {
          violation = "ambiguous_end_of_data";
          break;
        }
        dot = NO_DOT;
      }
      if (b === DOT && (prev1 === LF || prev1 === CR)) {
        dot = AFTER_DOT;
        dotAfterCrlf = prev1 === LF && prev2 === CR;
      }

      if (inHeader && ++headerBytes > maxHeaderBytes) {
        violation = "header_too_large";
        break;
      }
      if (b === LF) {
        const length = prev1 === CR ? lineBytes - 1 : lineBytes;
        if (length > maxLineBytes) {
          violation = "line_too_long";
          break;
        }
        if (length === 0) inHeader = false;
        lineBytes = 0;
      } else if (++lineBytes > maxLineBytes + 1) {
        // Even a CR as the last byte counted cannot bring it back under the limit.
        violation = "line_too_long";
        break;
      }
      prev2 = prev1;
      prev1 = b;
    }

    this.#prev1 = prev1;
    this.#prev2 = prev2;
    this.#lineBytes = lineBytes;
    this.#inHeader = inHeader;
    this.#headerBytes = headerBytes;
    this.#dot = dot;
    this.#dotAfterCrlf = dotAfterCrlf;
    return violation;
  }
}
