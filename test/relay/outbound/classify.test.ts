import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { classifySmtpFailure, localFailure, parseReply, retryTimeout, triesNextHost } from "../../../relay/outbound/classify.ts";
import { RESPONSES } from "./smtp-responses.ts";

describe("classifying real server replies", () => {
  test("the corpus is large and varied enough to mean something", () => {
    assert.ok(RESPONSES.length >= 40, `${RESPONSES.length} replies`);
    assert.ok(new Set(RESPONSES.map((r) => r.system)).size >= 15);
  });

  for (const c of RESPONSES) {
    const label = c.expected === "deferred" ? "deferred" : `${c.expected.reason} (status ${c.expected.errorStatus})`;
    test(`${c.system}: "${c.response.split("\n")[0]!.slice(0, 70)}" to ${c.command} is ${label}`, () => {
      const outcome = classifySmtpFailure({ code: "EENVELOPE", response: c.response, command: c.command });
      if (c.expected === "deferred") {
        assert.equal(outcome.kind, "deferred");
        return;
      }
      assert.equal(outcome.kind, "failed");
      if (outcome.kind !== "failed") return;
      assert.deepEqual({ reason: outcome.reason, errorStatus: outcome.errorStatus }, c.expected);
      assert.equal(outcome.response, c.response, "the response is kept as the server wrote it");
      assert.equal(outcome.replyCode, Number(c.response.slice(0, 3)));
    });
  }
});

describe("classifying replies by their code", () => {
  test("every 4xx is deferred, with the reply as the reason", () => {
    const outcome = classifySmtpFailure({ responseCode: 450, response: "450 4.2.1 Mailbox busy", command: "RCPT TO" });
    assert.deepEqual(outcome, { kind: "deferred", reason: "450 4.2.1 Mailbox busy", response: "450 4.2.1 Mailbox busy" });
  });

  test("a 5xx carries the reply code and the enhanced status code", () => {
    const outcome = classifySmtpFailure({ responseCode: 550, response: "550 5.1.1 User unknown", command: "RCPT TO" });
    assert.equal(outcome.kind, "failed");
    assert.equal(outcome.kind === "failed" && outcome.enhancedStatus, "5.1.1");
    assert.equal(outcome.kind === "failed" && outcome.replyCode, 550);
  });

  test("a 552 to RCPT is temporary (RFC 5321 4.5.3.1.10), the same reply after DATA is not", () => {
    const reply = "552 5.2.2 <user@example.org>: Recipient address rejected: Mailbox full";
    assert.equal(classifySmtpFailure({ response: reply, command: "RCPT TO" }).kind, "deferred");
    assert.equal(classifySmtpFailure({ response: reply, command: "DATA" }).kind, "failed");
  });

  test("a 5xx that names nothing the rules know is failed with status 99", () => {
    const outcome = classifySmtpFailure({ response: "550 Go away", command: "DATA" });
    assert.equal(outcome.kind, "failed");
    assert.equal(outcome.kind === "failed" && outcome.errorStatus, 99);
  });

  test("the reply code is read from the response when the client gives none", () => {
    assert.equal(classifySmtpFailure({ code: "EPROTOCOL", response: "554 5.7.1 No SMTP service here", command: "CONN" }).kind, "failed");
  });
});

describe("failures without a reply", () => {
  test("connection failures and timeouts are deferred with the system's code", () => {
    const refused = classifySmtpFailure({ code: "ESOCKET", originalCode: "ECONNREFUSED", message: "connect ECONNREFUSED 192.0.2.1:25", command: "CONN" });
    assert.deepEqual(refused, { kind: "deferred", reason: "connect ECONNREFUSED 192.0.2.1:25" });
    const timeout = classifySmtpFailure({ code: "ETIMEDOUT", message: "Greeting never received", command: "CONN" });
    assert.deepEqual(timeout, { kind: "deferred", reason: "Greeting never received" });
    const reset = classifySmtpFailure({ code: "ECONNECTION", originalCode: "ECONNRESET", message: "Connection closed unexpectedly" });
    assert.deepEqual(reset, { kind: "deferred", reason: "Connection closed unexpectedly (ECONNRESET)" });
  });

  test("a failed TLS handshake is named by OpenSSL's code, not its long message", () => {
    const outcome = classifySmtpFailure({ code: "ETLS", originalCode: "ERR_SSL_WRONG_VERSION_NUMBER", message: "4057:error:0A00010B:SSL routines:…", command: "CONN" });
    assert.deepEqual(outcome, { kind: "deferred", reason: "TLS handshake failed (ERR_SSL_WRONG_VERSION_NUMBER)" });
  });

  test("a message over the server's advertised SIZE fails as too large", () => {
    const outcome = classifySmtpFailure({ code: "EMESSAGE", message: "Message size larger than allowed 1000", command: "MAIL FROM" });
    assert.equal(outcome.kind, "failed");
    assert.deepEqual(outcome.kind === "failed" && [outcome.reason, outcome.errorStatus, outcome.enhancedStatus], ["mesgtoobig", 8, "5.3.4"]);
  });

  test("an envelope address the client refuses to send fails as an address format error", () => {
    const outcome = classifySmtpFailure({ code: "EENVELOPE", message: 'Invalid recipient "a<b@example.org"', command: "API" });
    assert.equal(outcome.kind === "failed" && outcome.errorStatus, 9);
    assert.equal(outcome.kind === "failed" && outcome.reason, "addressformat");
  });

  test("a very long reason is cut", () => {
    const outcome = classifySmtpFailure({ code: "ECONNECTION", message: "x".repeat(5000) });
    assert.ok(outcome.kind === "deferred" && outcome.reason.length <= 501);
  });
});

describe("whether the next address may do better", () => {
  const cases: [string, Parameters<typeof triesNextHost>[0], boolean][] = [
    ["a refused connection", { code: "ESOCKET", originalCode: "ECONNREFUSED", command: "CONN" }, true],
    ["a timeout", { code: "ETIMEDOUT", command: "CONN" }, true],
    ["a dropped connection in the middle of DATA", { code: "ECONNECTION", command: "CONN" }, true],
    ["a 5xx greeting", { responseCode: 554, response: "554 No SMTP service here", command: "CONN" }, true],
    ["a failed EHLO", { responseCode: 550, response: "550 go away", command: "EHLO" }, true],
    ["a failed STARTTLS", { code: "ETLS", command: "STARTTLS" }, true],
    ["a failed AUTH", { responseCode: 535, response: "535 5.7.8 nope", command: "AUTH PLAIN" }, true],
    ["a 421 at any point", { responseCode: 421, response: "421 4.7.0 closing", command: "RCPT TO" }, true],
    ["a refused recipient", { responseCode: 550, response: "550 5.1.1 unknown", command: "RCPT TO" }, false],
    ["a 4xx to RCPT", { responseCode: 450, response: "450 4.2.0 greylisted", command: "RCPT TO" }, false],
    ["a refused message", { responseCode: 554, response: "554 5.7.1 spam", command: "DATA" }, false],
    ["a message over SIZE", { code: "EMESSAGE", command: "MAIL FROM" }, false],
  ];
  for (const [what, failure, expected] of cases) {
    test(`${what}: ${expected ? "yes" : "no"}`, () => assert.equal(triesNextHost(failure), expected));
  }
});

describe("replies, local failures and the retry timeout", () => {
  test("parseReply reads the code and the enhanced status of the first line only", () => {
    assert.deepEqual(parseReply("550-5.1.1 first\n550 5.1.1 last"), { replyCode: 550, enhancedStatus: "5.1.1" });
    assert.deepEqual(parseReply("554 delivery error: dd 5.1.1 later"), { replyCode: 554 });
    assert.deepEqual(parseReply("no code"), {});
  });

  test("a local failure carries the error status of its cause", () => {
    assert.deepEqual(localFailure("hostunknown", "550 5.1.2 example.invalid: domain not found"), {
      kind: "failed",
      reason: "hostunknown",
      response: "550 5.1.2 example.invalid: domain not found",
      errorStatus: 1,
      replyCode: 550,
      enhancedStatus: "5.1.2",
    });
    assert.equal(localFailure("addressformat", "553 5.1.3 bad").errorStatus, 9);
  });

  test("giving up after the schedule is error status 3 with the last temporary failure", () => {
    const failed = retryTimeout({ kind: "deferred", reason: "450 4.2.0 greylisted", response: "450 4.2.0 greylisted", host: "mx.example.org[192.0.2.1]:25" });
    assert.deepEqual(failed, { kind: "failed", reason: "expired", response: "450 4.2.0 greylisted", errorStatus: 3, host: "mx.example.org[192.0.2.1]:25" });
    assert.equal(retryTimeout({ kind: "deferred", reason: "connect ECONNREFUSED" }).response, "connect ECONNREFUSED");
  });
});
