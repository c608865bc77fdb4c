import assert from "node:assert/strict";
import { test } from "node:test";
import { inboundWebhook, inboundWebhookSpec } from "../../../operator/api/inbound-webhook.ts";
import { formatPath, parseWith } from "../../../operator/api/issues.ts";

const minimal = { endpoint: "https://hooks.example.com/in", conditions: [{ header: "To", pattern: ".*" }] };

/** `field: message` for each issue, or [] when valid. */
function problems(spec: unknown): string[] {
  const r = parseWith(inboundWebhookSpec, spec);
  return r.success ? [] : r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

test("a minimal spec gets the SPEC's defaults", () => {
  assert.deepEqual(inboundWebhookSpec.parse(minimal), {
    ...minimal,
    contentType: "multipart",
    retry: { intervalSeconds: 60, periodDays: 3 },
    timeoutSeconds: 30,
    suspended: false,
  });
});

test("secret references default their keys to apiKey and secret", () => {
  const spec = inboundWebhookSpec.parse({ ...minimal, auth: { apiKeySecretRef: { name: "a" }, signingSecretRef: { name: "s" }, basicSecretRef: { name: "b" } } });
  assert.deepEqual(spec.auth, { apiKeySecretRef: { name: "a", key: "apiKey" }, signingSecretRef: { name: "s", key: "secret" }, basicSecretRef: { name: "b" } });
});

test("out-of-range numbers name the field and the range", () => {
  assert.deepEqual(problems({ ...minimal, retry: { intervalSeconds: 5, periodDays: 11 }, timeoutSeconds: 0 }), [
    "retry.intervalSeconds: must be between 10 and 600",
    "retry.periodDays: must be between 1 and 10",
    "timeoutSeconds: must be between 1 and 60",
  ]);
  assert.deepEqual(problems({ ...minimal, timeoutSeconds: 2.5 }), ["timeoutSeconds: must be an integer"]);
});

test("missing, mistyped and unknown fields each get a plain message", () => {
  assert.deepEqual(problems({ conditions: minimal.conditions, contentType: "xml", suspended: "yes", extra: 1 }), [
    "endpoint: is required",
    'contentType: must be one of "multipart", "json"',
    "suspended: must be true or false",
    "extra: unknown field",
  ]);
  assert.deepEqual(problems({ ...minimal, conditions: [] }), ["conditions: must have at least one condition"]);
});

test("the endpoint must be https, have a host and carry no credentials", () => {
  assert.deepEqual(problems({ ...minimal, endpoint: "http://hooks.example.com/" }), ["endpoint: must be an https:// URL with a host (no spaces or control characters)"]);
  assert.deepEqual(problems({ ...minimal, endpoint: "https://:443/" }), ["endpoint: must be an absolute https:// URL with a host"]);
  assert.deepEqual(problems({ ...minimal, endpoint: "https://u:secret@hooks.example.com/" }), [
    "endpoint: must not contain credentials; reference a Secret in spec.auth.basicSecretRef instead",
  ]);
  assert.deepEqual(problems({ ...minimal, endpoint: "https://localhost:8443/inbound?x=1" }), []);
});

test("header names are RFC 5322 field names: printable ASCII without ':'", () => {
  for (const header of ["To", "X-Custom_Header!", "subject"]) assert.deepEqual(problems({ ...minimal, conditions: [{ header, pattern: "x" }] }), []);
  for (const header of ["To:", "X Y", "Tö", ""]) assert.equal(problems({ ...minimal, conditions: [{ header, pattern: "x" }] }).length, 1, header);
});

test("a pattern that RE2 cannot compile points at the condition and says why", () => {
  assert.deepEqual(problems({ ...minimal, conditions: [minimal.conditions[0], { header: "Subject", pattern: "(unclosed" }] }), [
    "conditions[1].pattern: is not a valid RE2 regular expression: missing closing ): `(unclosed`",
  ]);
  // Perl features RE2 leaves out to stay linear-time.
  assert.equal(problems({ ...minimal, conditions: [{ header: "To", pattern: "(?=a)b" }] }).length, 1);
  assert.equal(problems({ ...minimal, conditions: [{ header: "To", pattern: "(a)\\1" }] }).length, 1);
});

test("a whole object needs our apiVersion and kind, and a DNS name", () => {
  const r = parseWith(inboundWebhook, { apiVersion: "mailhook.dev/v1", kind: "InboundWebHook", metadata: { name: "Orders" }, spec: minimal });
  assert.equal(r.success, false);
  assert.deepEqual(
    r.success ? [] : r.issues.map((i) => formatPath(i.path)),
    ["apiVersion", "kind", "metadata.name"],
  );
});

test("status written into a manifest is ignored, as the API server ignores it", () => {
  const r = parseWith(inboundWebhook, { apiVersion: "mailhook.dev/v1alpha1", kind: "InboundWebhook", metadata: { name: "a" }, spec: minimal, status: { bogus: 1 } });
  assert.equal(r.success, true);
});

test("field paths read like kubectl's", () => {
  assert.equal(formatPath(["spec", "conditions", 0, "pattern"]), "spec.conditions[0].pattern");
  assert.equal(formatPath([]), "");
});
