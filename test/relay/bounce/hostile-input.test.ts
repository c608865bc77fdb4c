// Bounce mail comes from anyone. Whatever arrives, the analysis ends, without crashing, in time that
// grows linearly with the (bounded) input; the test runner's timeout catches a runaway.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { analyseBounce } from "../../../relay/bounce/analyse.ts";
import { MAX_DIAGNOSTIC_OUTPUT, MAX_RECIPIENTS } from "../../../relay/bounce/analyse.ts";

const dsn = (diagnostic: string) =>
  Buffer.from(
    [
      "From: MAILER-DAEMON@relay.example",
      "To: sender@example.com",
      "Subject: Undelivered Mail Returned to Sender",
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      "",
      "--B",
      "Content-Type: text/plain",
      "",
      "The mail could not be delivered.",
      "--B",
      "Content-Type: message/delivery-status",
      "",
      "Reporting-MTA: dns; relay.example",
      "",
      "Final-Recipient: rfc822; someone@example.net",
      "Action: failed",
      "Status: 5.0.0",
      `Diagnostic-Code: smtp; 550 ${diagnostic}`,
      "--B--",
      "",
    ].join("\n"),
  );

describe("hostile bounce mail", () => {
  test("a diagnostic of megabytes, built to make backtracking patterns explode, is cut short", async () => {
    const evil = `${"a".repeat(2_000_000)} ${"user unknown ".repeat(10_000)}${"(".repeat(100_000)}${"@a.".repeat(50_000)}`;
    const result = await analyseBounce(dsn(evil));
    assert.equal(result.recipients.length, 1);
    assert.equal(result.recipients[0]!.address, "someone@example.net");
    assert.ok(result.recipients[0]!.diagnostic.length <= MAX_DIAGNOSTIC_OUTPUT);
  });

  test("multiparts nested thousands deep do not overflow the stack", async () => {
    for (const depth of [500, 50_000]) {
      let body = "";
      for (let i = 0; i < depth; i++) body += `Content-Type: multipart/mixed; boundary="b${i}"\n\n--b${i}\n`;
      body += "Content-Type: text/plain\n\n<x@example.net>: 550 5.1.1 user unknown\n";
      for (let i = depth - 1; i >= 0; i--) body += `--b${i}--\n`;
      const result = await analyseBounce(Buffer.from(`From: MAILER-DAEMON@relay.example\nSubject: failure\nMIME-Version: 1.0\n${body}`));
      assert.ok(Array.isArray(result.recipients), `depth ${depth}`);
    }
  });

  test("binary garbage and empty input give an answer, not an exception", async () => {
    for (const raw of [randomBytes(3_000_000), Buffer.alloc(0), Buffer.from("\r\r\n\n\0\0"), Buffer.from("{\"notificationType\":")]) {
      const result = await analyseBounce(raw);
      assert.equal(typeof result.bounce, "boolean");
    }
  });

  test("a flood of recipient lines and addresses stays bounded", async () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `<user${i}@${"sub.".repeat(60)}example.net>: 550 5.1.1 unknown`);
    const result = await analyseBounce(Buffer.from(`From: MAILER-DAEMON@relay.example\nSubject: failure\n\n${lines.join("\n")}\n`));
    assert.equal(result.bounce, true);
    assert.ok(result.recipients.length > 0 && result.recipients.length <= MAX_RECIPIENTS);
  });
});
