import assert from "node:assert/strict";
import { test } from "node:test";
import { DataGuard, type DataLimits, type DataViolation } from "../../../relay/smtp-in/data-guard.ts";

const limits: DataLimits = { maxMessageBytes: 10_000, maxLineBytes: 20, maxHeaderBytes: 100 };

/** Runs `data` through a guard whole, and byte by byte: chunking must never change the verdict. */
function verdict(data: string, l: DataLimits = limits): DataViolation | undefined {
  const bytes = Buffer.from(data, "latin1");
  const whole = new DataGuard(l).push(bytes);
  const split = new DataGuard(l);
  let bytewise: DataViolation | undefined;
  for (let i = 0; i < bytes.length; i++) bytewise = split.push(bytes.subarray(i, i + 1));
  assert.equal(bytewise, whole, `chunking changed the verdict for ${JSON.stringify(data)}`);
  return whole;
}

test("a well-formed message passes", () => {
  assert.equal(verdict("Subject: hi\r\n\r\nbody\r\n"), undefined);
});

test("the message size is limited, and bytes keep being counted after a violation", () => {
  const guard = new DataGuard({ ...limits, maxMessageBytes: 30 });
  assert.equal(guard.push(Buffer.from("Subject: hi\r\n\r\n")), undefined);
  assert.equal(guard.push(Buffer.from("0123456789012345\r\n")), "too_large");
  assert.equal(guard.push(Buffer.from("more")), "too_large");
  assert.equal(guard.bytes, 37);
});

test("a line may have exactly maxLineBytes bytes before CRLF or a bare LF, not one more", () => {
  const line = "x".repeat(20);
  assert.equal(verdict(`S: a\r\n\r\n${line}\r\nend\r\n`), undefined);
  assert.equal(verdict(`S: a\n\n${line}\nend\n`), undefined);
  assert.equal(verdict(`S: a\r\n\r\n${line}x\r\n`), "line_too_long");
  assert.equal(verdict(`S: a\n\n${line}x\n`), "line_too_long");
  // Caught before the line ends, so an endless line is not buffered.
  assert.equal(verdict(`S: a\r\n\r\n${line}xx`), "line_too_long");
});

test("the header section is limited up to its empty line, the body is not", () => {
  const fields = "X-A: 0123456789\r\n".repeat(5); // 85 bytes
  assert.equal(verdict(`${fields}\r\n${"body line\r\n".repeat(50)}`), undefined);
  assert.equal(verdict(`${fields}X-B: 012345\r\n\r\n`), undefined); // exactly 100 bytes
  assert.equal(verdict(`${fields}X-B: 0123456\r\n\r\n`), "header_too_large");
  assert.equal(verdict(`${"X-A: 0123456789\n".repeat(5)}X-B: 012345\n\n`), undefined);
  assert.equal(verdict(`\r\n${"body\r\n".repeat(30)}`), undefined);
});

test("a lone dot next to a bare LF or CR is refused: the end-of-data sequences other servers accept", () => {
  for (const fake of ["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r", "\r.\n", "\n.\r", "\r.\r"]) {
    assert.equal(verdict(`S: a\r\n\r\nbody${fake}MAIL FROM:<x@y>\r\n`), "ambiguous_end_of_data", JSON.stringify(fake));
  }
  assert.equal(verdict(".\nbody\r\n"), "ambiguous_end_of_data");
});

test("dots that cannot end DATA anywhere are content", () => {
  // A "." line between CRLFs was dot-stuffed by the sender; dots starting longer lines are text.
  assert.equal(verdict("S: a\r\n\r\nline\r\n.\r\n.leading\r\n..\r\nend.\r\n"), undefined);
  assert.equal(verdict(".\r\nS: a\r\n\r\nx\r\n"), undefined);
  assert.equal(verdict("S: a\n\nbare LF lines\n.dot\nare fine\n"), undefined);
});

/**
 * The rules stated byte by byte, as simply as possible: the model the guard's jumping scan must agree
 * with. `prev` holds the bytes before `i` (DATA starts after a CRLF).
 */
function referenceVerdict(data: Buffer, l: DataLimits): DataViolation | undefined {
  if (data.length > l.maxMessageBytes) return "too_large";
  const at = (i: number): number => (i >= 0 ? data[i]! : i === -1 ? 0x0a : 0x0d);
  const isEnd = (b: number): boolean => b === 0x0a || b === 0x0d;
  let lineBytes = 0;
  let headerBytes = 0;
  let inHeader = true;
  for (let i = 0; i < data.length; i++) {
    const b = at(i);
    // A "." starting a line (after CR or LF) must be followed by CRLF and preceded by CRLF.
    if (at(i - 1) === 0x2e && isEnd(at(i - 2))) {
      if (b === 0x0a) return "ambiguous_end_of_data";
    }
    if (at(i - 2) === 0x2e && isEnd(at(i - 3)) && at(i - 1) === 0x0d) {
      if (b !== 0x0a || at(i - 3) !== 0x0a || at(i - 4) !== 0x0d) return "ambiguous_end_of_data";
    }
    if (inHeader && ++headerBytes > l.maxHeaderBytes) return "header_too_large";
    if (b === 0x0a) {
      const length = at(i - 1) === 0x0d ? lineBytes - 1 : lineBytes;
      if (length > l.maxLineBytes) return "line_too_long";
      if (length === 0) inHeader = false;
      lineBytes = 0;
    } else if (++lineBytes > l.maxLineBytes + 1) {
      return "line_too_long";
    }
  }
  return undefined;
}

test("the scan agrees with the byte-by-byte rules, however the stream is split into chunks", () => {
  // Deterministic pseudo-random inputs, weighted towards the bytes the scan jumps between.
  let seed = 0x2545f491;
  const next = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const alphabet = Buffer.from("aaaaaa.\r\n\r\n", "latin1");
  for (let round = 0; round < 5000; round++) {
    const data = Buffer.alloc(next(200));
    for (let i = 0; i < data.length; i++) data[i] = alphabet[next(alphabet.length)]!;
    const l: DataLimits = { maxMessageBytes: 10_000, maxLineBytes: 1 + next(30), maxHeaderBytes: 1 + next(120) };
    const expected = referenceVerdict(data, l);
    assert.equal(verdict(data.toString("latin1"), l) ?? undefined, data.length === 0 ? undefined : expected, `whole: ${JSON.stringify(data.toString("latin1"))}`);
    const guard = new DataGuard(l);
    let chunked: DataViolation | undefined;
    for (let start = 0; start < data.length; ) {
      const end = Math.min(data.length, start + 1 + next(40));
      chunked = guard.push(data.subarray(start, end));
      start = end;
    }
    assert.equal(chunked, expected, `random chunks: ${JSON.stringify(data.toString("latin1"))}`);
  }
});
