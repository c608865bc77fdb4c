import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { withCel, type KindDefinition } from "../../../operator/api/common.ts";
import { toCrd } from "../../../operator/api/crd.ts";
import { inboundWebhookDefinition, inboundWebhookSpec } from "../../../operator/api/inbound-webhook.ts";
import { parseWith } from "../../../operator/api/issues.ts";
import { applyDefaults, validate, type Schema } from "./openapi.ts";

const crd = toCrd(inboundWebhookDefinition) as { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: Schema } } } }[] } };
const specSchema = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;

/** The API server's verdict on a spec, CEL rules aside: defaults, then the structural schema. */
function cluster(spec: unknown): string[] {
  return validate(specSchema, applyDefaults(specSchema, spec), "spec");
}

const minimal = { endpoint: "https://hooks.example.com/in", conditions: [{ header: "To", pattern: "^a@example\\.com$" }] };
const full = {
  ...minimal,
  contentType: "json",
  auth: { basicSecretRef: { name: "basic" }, apiKeySecretRef: { name: "keys", key: "k" }, signingSecretRef: { name: "sign" } },
  retry: { intervalSeconds: 600, periodDays: 10 },
  timeoutSeconds: 1,
  suspended: true,
};

test("the CRD and the zod schema accept the same valid specs", () => {
  for (const spec of [minimal, full, { ...minimal, retry: { intervalSeconds: 10 } }, { ...minimal, endpoint: "https://[::1]:8443/x?y=1" }]) {
    assert.deepEqual(cluster(spec), [], JSON.stringify(spec));
    assert.equal(parseWith(inboundWebhookSpec, spec).success, true, JSON.stringify(spec));
  }
});

test("the CRD's defaults are the zod schema's defaults", () => {
  const zodOutput = inboundWebhookSpec.parse({ ...minimal, auth: { apiKeySecretRef: { name: "k" }, signingSecretRef: { name: "s" } } });
  assert.deepEqual(applyDefaults(specSchema, { ...minimal, auth: { apiKeySecretRef: { name: "k" }, signingSecretRef: { name: "s" } } }), zodOutput);
});

test("the CRD and the zod schema reject the same invalid specs", () => {
  const invalid: Record<string, unknown> = {
    "no endpoint": { conditions: minimal.conditions },
    "http endpoint": { ...minimal, endpoint: "http://hooks.example.com/" },
    "endpoint without host": { ...minimal, endpoint: "https:///path" },
    "endpoint with a space": { ...minimal, endpoint: "https://hooks.example.com/a b" },
    "endpoint too long": { ...minimal, endpoint: `https://example.com/${"a".repeat(2030)}` },
    "no conditions": { ...minimal, conditions: [] },
    "33 conditions": { ...minimal, conditions: Array.from({ length: 33 }, () => minimal.conditions[0]) },
    "header with a colon": { ...minimal, conditions: [{ header: "To:", pattern: "x" }] },
    "header with a space": { ...minimal, conditions: [{ header: "X Y", pattern: "x" }] },
    "empty pattern": { ...minimal, conditions: [{ header: "To", pattern: "" }] },
    "pattern too long": { ...minimal, conditions: [{ header: "To", pattern: "a".repeat(1025) }] },
    "unknown content type": { ...minimal, contentType: "xml" },
    "interval too short": { ...minimal, retry: { intervalSeconds: 9 } },
    "interval too long": { ...minimal, retry: { intervalSeconds: 601 } },
    "fractional interval": { ...minimal, retry: { intervalSeconds: 60.5 } },
    "interval as a string": { ...minimal, retry: { intervalSeconds: "60" } },
    "period of 0 days": { ...minimal, retry: { periodDays: 0 } },
    "period of 11 days": { ...minimal, retry: { periodDays: 11 } },
    "timeout 0": { ...minimal, timeoutSeconds: 0 },
    "timeout 61": { ...minimal, timeoutSeconds: 61 },
    "suspended as a string": { ...minimal, suspended: "yes" },
    "unknown field": { ...minimal, retries: 3 },
    "unknown auth field": { ...minimal, auth: { tokenSecretRef: { name: "x" } } },
    "secret ref without a name": { ...minimal, auth: { apiKeySecretRef: {} } },
    "secret name with capitals": { ...minimal, auth: { basicSecretRef: { name: "Basic" } } },
    "secret key with a space": { ...minimal, auth: { apiKeySecretRef: { name: "k", key: "api key" } } },
    "null spec field": { ...minimal, contentType: null },
    // CEL rules on the endpoint: credentials in it, a URL whose host is empty for Go.
    "credentials in the endpoint": { ...minimal, endpoint: "https://user:pw@hooks.example.com/" },
    "endpoint with an empty host": { ...minimal, endpoint: "https://:443/" },
  };
  for (const [name, spec] of Object.entries(invalid)) {
    assert.notDeepEqual(cluster(spec), [], `the CRD accepts: ${name}`);
    assert.equal(parseWith(inboundWebhookSpec, spec).success, false, `zod accepts: ${name}`);
  }
});

test("what only the operator catches, the zod schema catches too", () => {
  const stricter: Record<string, unknown> = {
    // RE2 syntax: no CEL function checks it.
    "invalid RE2 pattern": { ...minimal, conditions: [{ header: "To", pattern: "(a" }] },
    "backreference": { ...minimal, conditions: [{ header: "To", pattern: "(a)\\1" }] },
  };
  for (const [name, spec] of Object.entries(stricter)) {
    assert.deepEqual(cluster(spec), [], `the API server already rejects: ${name}`);
    assert.equal(parseWith(inboundWebhookSpec, spec).success, false, `zod accepts: ${name}`);
  }
});

test("constructs Kubernetes rejects fail the generation instead of producing a CRD", () => {
  const kind = (spec: z.ZodType): KindDefinition => ({ ...inboundWebhookDefinition, spec });
  assert.throws(() => toCrd(kind(z.strictObject({ a: z.union([z.string(), z.int()]) }))), /spec\.a: "anyOf" is not allowed/);
  assert.throws(() => toCrd(kind(z.strictObject({ a: z.unknown() }))), /spec\.a: every node of a structural schema needs a type/);
});

test("a cross-field CEL rule lands on the object in the CRD and zod reports it at the field it names", () => {
  const spec = withCel(z.strictObject({ version: z.enum(["1", "2"]), contentType: z.enum(["form", "json"]) }), [
    {
      rule: "self.contentType != 'json' || self.version == '2'",
      message: "json needs version 2",
      fieldPath: ".contentType",
      check: (s) => s.contentType !== "json" || s.version === "2",
    },
  ]);
  const generated = toCrd({ ...inboundWebhookDefinition, spec }) as typeof crd;
  assert.deepEqual((generated.spec.versions[0]!.schema.openAPIV3Schema.properties.spec as Record<string, unknown>)["x-kubernetes-validations"], [
    { fieldPath: ".contentType", message: "json needs version 2", rule: "self.contentType != 'json' || self.version == '2'" },
  ]);
  const r = parseWith(spec, { version: "1", contentType: "json" });
  assert.deepEqual(r.success ? [] : r.issues, [{ path: ["contentType"], message: "json needs version 2" }]);
});
