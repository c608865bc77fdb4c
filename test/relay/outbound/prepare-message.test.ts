import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { countReceived, prepareMessage, toCrlf } from "../../../relay/outbound/prepare-message.ts";

const crlf = (s: string) => toCrlf(Buffer.from(s)).toString("latin1");

describe("line endings", () => {
  test("bare LF and bare CR become CRLF; CRLF is kept", () => {
    assert.equal(crlf("a\nb\rc\r\nd"), "a\r\nb\r\nc\r\nd");
  });

  test("a CR at the very end and LF CR pairs become two line endings each", () => {
    assert.equal(crlf("a\r"), "a\r\n");
    assert.equal(crlf("a\n\rb"), "a\r\n\r\nb");
    assert.equal(crlf("\r\r\n\n"), "\r\n\r\n\r\n");
  });

  test("a message already in CRLF comes back as the same buffer", () => {
    const raw = Buffer.from("Subject: x\r\n\r\nbody\r\n");
    assert.equal(toCrlf(raw), raw);
  });

  test("8-bit bytes pass through unchanged", () => {
    const raw = Buffer.from("Subject: caf\u00e9\n\n\u65e5\u672c\n", "utf8");
    assert.deepEqual(toCrlf(raw), Buffer.from("Subject: caf\u00e9\r\n\r\n\u65e5\u672c\r\n", "utf8"));
  });

  test("CRLF, LF and CR versions of one message become the same bytes", () => {
    const text = "From: a@example.com\r\nSubject: same\r\n\r\nline 1\r\n.line 2\r\n";
    const variants = [text, text.replaceAll("\r\n", "\n"), text.replaceAll("\r\n", "\r")];
    for (const v of variants) assert.equal(crlf(v), text);
  });
});

describe("counting Received headers", () => {
  test("only header fields named Received count, in any case, not folded lines or the body", () => {
    const message = Buffer.from(
      [
        "Received: from a by b; Tue, 3 Jun 2025 10:00:00 +0000",
        "RECEIVED: from c",
        "\tby d; Tue, 3 Jun 2025 10:00:00 +0000",
        "X-Received: by e",
        "received:from f",
        "Subject: Received: not one",
        "",
        "Received: in the body does not count",
        "",
      ].join("\r\n"),
    );
    assert.equal(countReceived(message), 3);
  });

  test("a message with no body separator is all header", () => {
    assert.equal(countReceived(Buffer.from("Received: x\r\nReceived: y")), 2);
    assert.equal(countReceived(Buffer.alloc(0)), 0);
  });
});

describe("preparing a message", () => {
  const received = Buffer.from("Received: from client ([192.0.2.9])\r\n\tby relay.test with ESMTP;\r\n\tTue, 03 Jun 2025 10:00:00 +0000\r\n");
  const hops = (n: number) => Array.from({ length: n }, (_, i) => `Received: from hop${i}\n`).join("");

  test("the relay's Received header goes on top and the message is CRLF", () => {
    const prepared = prepareMessage(Buffer.from("Subject: hi\n\nbody\n"), received, 30);
    assert.equal(prepared.kind, "ok");
    if (prepared.kind !== "ok") return;
    assert.equal(prepared.message.toString(), `${received.toString()}Subject: hi\r\n\r\nbody\r\n`);
    assert.equal(prepared.hops, 1);
    assert.equal(prepared.eightBit, false);
  });

  test("without a trace field the message is only normalised", () => {
    const prepared = prepareMessage(Buffer.from("Subject: hi\n\nbody\n"), null, 30);
    assert.deepEqual(prepared.kind === "ok" && prepared.message.toString(), "Subject: hi\r\n\r\nbody\r\n");
  });

  test("30 hops including the relay's pass; 31 are a loop", () => {
    assert.equal(prepareMessage(Buffer.from(`${hops(29)}Subject: x\n\nb\n`), received, 30).kind, "ok");
    assert.deepEqual(prepareMessage(Buffer.from(`${hops(30)}Subject: x\n\nb\n`), received, 30), { kind: "loop", hops: 31 });
  });

  test("8-bit content is noticed (for BODY=8BITMIME)", () => {
    const prepared = prepareMessage(Buffer.from("Subject: x\n\ncaf\u00e9\n"), null, 30);
    assert.equal(prepared.kind === "ok" && prepared.eightBit, true);
  });
});
