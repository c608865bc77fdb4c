import assert from "node:assert/strict";
import { test } from "node:test";
import { headerSectionLength, parseHeaderBlock } from "../../../relay/match/header-block.ts";

const parse = (text: string | Buffer, maxBytes = 262_144) => parseHeaderBlock(typeof text === "string" ? Buffer.from(text) : text, maxBytes);

test("fields come back in message order with names as written, up to the first empty line", () => {
  const fields = parse("From: a@example.com\r\nSubject:  hello  \r\nX-Tag: 1\r\nx-tag: 2\r\n\r\nNot-A-Header: body\r\n");
  assert.deepEqual(fields, [
    { name: "From", value: "a@example.com" },
    { name: "Subject", value: "hello" },
    { name: "X-Tag", value: "1" },
    { name: "x-tag", value: "2" },
  ]);
});

test("bare LF line ends are accepted like CRLF", () => {
  assert.deepEqual(parse("A: 1\nB: 2\n\nC: body\n"), [
    { name: "A", value: "1" },
    { name: "B", value: "2" },
  ]);
});

test("folded fields are unfolded: the line break goes, the whitespace stays", () => {
  assert.deepEqual(parse("Subject: one\r\n two\r\n\tthree\r\nB: x\r\n\r\n"), [
    { name: "Subject", value: "one two\tthree" },
    { name: "B", value: "x" },
  ]);
});

test("encoded words are decoded (RFC 2047), including Japanese charsets", () => {
  const fields = parse(
    "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n" +
      "X-Q: =?utf-8?Q?caf=C3=A9?= au lait\r\n" +
      "X-Jis: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\n" +
      "X-Split: =?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=\r\n" +
      "X-Bad: =?no-such-charset?Q?x?= =?utf-8?B?###?=\r\n\r\n",
  );
  // Broken words decode as best they can (unknown charset: bytes as is; bad base64: nothing).
  assert.deepEqual(
    fields.map((f) => f.value),
    ["日本語", "café au lait", "日本語", "ab", "x"],
  );
});

test("raw 8-bit header bytes are read as UTF-8, invalid bytes as U+FFFD", () => {
  const raw = Buffer.concat([Buffer.from("Subject: 日本語\r\nX-Bin: a"), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from("b\r\n\r\n")]);
  assert.deepEqual(parse(raw), [
    { name: "Subject", value: "日本語" },
    { name: "X-Bin", value: "a\uFFFD\uFFFD\uFFFDb" },
  ]);
});

test("lines that are not fields are skipped with their continuations, never glued to a neighbour", () => {
  const fields = parse(" leading continuation\r\nFrom someone@example.com Mon Jan  1 00:00:00 2024\r\nA: 1\r\nno colon here\r\n continued\r\nBad Name: x\r\n: empty name\r\nB: 2\r\n\r\n");
  assert.deepEqual(fields, [
    { name: "A", value: "1" },
    { name: "B", value: "2" },
  ]);
});

test("a message without an empty line is all header; one starting with it has none", () => {
  assert.deepEqual(parse("A: 1\r\nB: 2"), [
    { name: "A", value: "1" },
    { name: "B", value: "2" },
  ]);
  assert.deepEqual(parse("\r\nA: body"), []);
  assert.equal(headerSectionLength(Buffer.from("A: 1\r\n\r\nbody"), 100), 8);
  assert.equal(headerSectionLength(Buffer.from("A: 1\n\nbody"), 100), 6);
  assert.equal(headerSectionLength(Buffer.from("\nbody"), 100), 1);
});

test("a header section over the limit is refused with HEADER_TOO_LARGE; the body does not count", () => {
  assert.throws(() => parse(`A: ${"x".repeat(200)}\r\n\r\nbody`, 100), { code: "HEADER_TOO_LARGE", message: /larger than 100 bytes/ });
  assert.deepEqual(parse(`A: 1\r\n\r\n${"x".repeat(1000)}`, 100), [{ name: "A", value: "1" }]);
});

test("hostile headers complete without a crash: a huge folded field, encoded-word soup, many fields", () => {
  const folded = parse(`Subject: start\r\n${" x\r\n".repeat(50_000)}\r\n`, 1_000_000);
  assert.equal(folded[0]!.value.length, "start".length + 50_000 * 2);
  for (const soup of ["=?".repeat(100_000), "=?a?B?".repeat(50_000), `=?utf-8?Q?${"=".repeat(200_000)}?=`, `${"=?x?Q?a?= ".repeat(30_000)}`]) {
    const [field] = parse(`X-Soup: ${soup}\r\n\r\n`, 1_000_000);
    assert.equal(field!.name, "X-Soup");
  }
  assert.equal(parse("A: 1\r\n".repeat(100_000), 1_000_000).length, 100_000);
});
