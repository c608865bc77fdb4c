import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import { classify, errorCode, errorReason, parseRetryAfter } from "../../../relay/deliver/classify.ts";

const NOW = Date.parse("2025-01-01T00:00:00Z");
const answer = (status: number, headers: Record<string, string | string[]> = {}) =>
  classify({ response: { status, headers } }, NOW);
const failure = (error: unknown) => classify({ error }, NOW);
const coded = (code: string, message = "boom") => Object.assign(new Error(message), { code });

describe("classify: answers", () => {
  test("every 2xx status is a success", () => {
    for (const status of [200, 201, 202, 204, 299]) assert.deepEqual(answer(status), { kind: "ok" });
  });

  test("410 Gone stops retrying at once", () => {
    assert.deepEqual(answer(410), { kind: "gone" });
  });

  test("a redirect is retried and says it was not followed", () => {
    for (const status of [301, 302, 303, 307, 308]) {
      assert.deepEqual(answer(status, { location: "https://elsewhere.example/" }), {
        kind: "retry",
        reason: `HTTP ${status} (redirect not followed)`,
      });
    }
  });

  test("every other error answer is retried, as the seed service does", () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422, 500, 502, 504, 599]) {
      assert.deepEqual(answer(status), { kind: "retry", reason: `HTTP ${status}` });
    }
  });

  test("a status outside 2xx-5xx is retried", () => {
    assert.deepEqual(answer(101), { kind: "retry", reason: "HTTP 101" });
    assert.deepEqual(answer(600), { kind: "retry", reason: "HTTP 600" });
  });

  test("Retry-After in seconds is honoured on 429 and 503", () => {
    assert.deepEqual(answer(429, { "retry-after": "120" }), { kind: "retry", reason: "HTTP 429", retryAfterMs: 120_000 });
    assert.deepEqual(answer(503, { "retry-after": "0" }), { kind: "retry", reason: "HTTP 503", retryAfterMs: 0 });
  });

  test("Retry-After as an HTTP date is honoured relative to now", () => {
    assert.deepEqual(answer(503, { "retry-after": "Wed, 01 Jan 2025 00:05:00 GMT" }), {
      kind: "retry",
      reason: "HTTP 503",
      retryAfterMs: 300_000,
    });
  });

  test("the first of repeated Retry-After headers is used", () => {
    assert.deepEqual(answer(429, { "retry-after": ["5", "10"] }), { kind: "retry", reason: "HTTP 429", retryAfterMs: 5_000 });
  });

  test("Retry-After is ignored on other statuses", () => {
    assert.deepEqual(answer(500, { "retry-after": "60" }), { kind: "retry", reason: "HTTP 500" });
    assert.deepEqual(answer(302, { "retry-after": "60" }), { kind: "retry", reason: "HTTP 302 (redirect not followed)" });
  });

  test("a garbled Retry-After falls back to the normal schedule", () => {
    for (const value of ["soon", "-5", "1.5", "", "99999999999", "Wed, 01 Jan 2025 00:05:00 PST"]) {
      assert.deepEqual(answer(429, { "retry-after": value }), { kind: "retry", reason: "HTTP 429" }, value);
    }
  });
});

describe("parseRetryAfter", () => {
  test("reads delta-seconds", () => {
    assert.equal(parseRetryAfter("30", NOW), 30_000);
    assert.equal(parseRetryAfter(" 7 ", NOW), 7_000);
  });

  test("reads IMF-fixdate and RFC 850 dates", () => {
    assert.equal(parseRetryAfter("Wed, 01 Jan 2025 00:00:10 GMT", NOW), 10_000);
    assert.equal(parseRetryAfter("Wednesday, 01-Jan-25 00:00:10 GMT", NOW), 10_000);
  });

  test("a date in the past means now", () => {
    assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", NOW), 0);
  });

  test("refuses what is neither", () => {
    for (const value of ["tomorrow", "2025-01-01T00:00:10Z", "Wed, 01 Jan 2025 00:00:10", "12 GMT", "Xyz, nonsense GMT"]) {
      assert.equal(parseRetryAfter(value, NOW), undefined, value);
    }
  });
});

describe("classify: transport errors", () => {
  test("every kind of timeout reads as timeout", () => {
    for (const code of ["ENDPOINT_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]) {
      assert.deepEqual(failure(coded(code)), { kind: "retry", reason: "timeout" }, code);
    }
    assert.deepEqual(failure(new DOMException("signal timed out", "TimeoutError")), { kind: "retry", reason: "timeout" });
  });

  test("socket errors read as their code", () => {
    for (const code of ["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "UND_ERR_CLOSED"]) {
      assert.deepEqual(failure(coded(code)), { kind: "retry", reason: code });
    }
  });

  test("certificate and handshake failures read as tls with their code", () => {
    for (const code of ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "CERT_HAS_EXPIRED", "DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN"]) {
      assert.deepEqual(failure(coded(code)), { kind: "retry", reason: `tls: ${code}` });
    }
    assert.deepEqual(failure(coded("ERR_TLS_CERT_ALTNAME_INVALID")), { kind: "retry", reason: "tls: ERR_TLS_CERT_ALTNAME_INVALID" });
    assert.deepEqual(failure(coded("ERR_SSL_WRONG_VERSION_NUMBER")), { kind: "retry", reason: "tls: ERR_SSL_WRONG_VERSION_NUMBER" });
  });

  test("a forbidden endpoint address is retried, since the relay's allowNetworks may change", () => {
    assert.deepEqual(failure(coded("ENDPOINT_ADDRESS_FORBIDDEN")), { kind: "retry", reason: "endpoint address forbidden" });
  });

  test("an invalid endpoint URL and a closed connection have readable reasons", () => {
    assert.deepEqual(failure(coded("ENDPOINT_URL_INVALID")), { kind: "retry", reason: "invalid endpoint URL" });
    assert.deepEqual(failure(coded("UND_ERR_SOCKET")), { kind: "retry", reason: "connection closed by endpoint" });
  });

  test("a dual-stack failure reads as the first address's error", () => {
    const error = new AggregateError([coded("ECONNREFUSED"), coded("ENETUNREACH")], "all failed");
    assert.deepEqual(failure(error), { kind: "retry", reason: "ECONNREFUSED" });
  });

  test("a wrapped error reads as its cause", () => {
    assert.deepEqual(failure(new TypeError("fetch failed", { cause: coded("ECONNRESET") })), { kind: "retry", reason: "ECONNRESET" });
  });

  test("the reason never echoes an error's message, which may hold a URL or a secret", () => {
    const secretive = [
      new Error("failed to reach https://user:hunter2@example.com/hook"),
      coded("https://user:hunter2@example.com/hook", "x"),
      coded("contains spaces and hunter2"),
      "a bare string with hunter2",
      null,
      undefined,
      42,
      { code: 23 },
    ];
    for (const error of secretive) {
      const result = failure(error);
      assert.equal(result.kind, "retry");
      assert.ok(result.kind === "retry" && !result.reason.includes("hunter2") && !result.reason.includes("//"), inspect(error));
    }
    assert.deepEqual(failure(new Error("https://user:hunter2@example.com")), { kind: "retry", reason: "network error" });
  });
});

describe("errorCode", () => {
  test("prefers the code, then inner errors, then the cause, then the name", () => {
    assert.equal(errorCode(coded("ECONNREFUSED")), "ECONNREFUSED");
    assert.equal(errorCode(new AggregateError([coded("EHOSTUNREACH")])), "EHOSTUNREACH");
    assert.equal(errorCode(new Error("x", { cause: coded("EPIPE") })), "EPIPE");
    assert.equal(errorCode(new RangeError("x")), "RangeError");
    assert.equal(errorCode(new Error("x")), "UNKNOWN");
    assert.equal(errorCode("text"), "UNKNOWN");
  });

  test("errorReason of an unknown error is generic", () => {
    assert.equal(errorReason(new Error("x")), "network error");
  });
});
