import assert from "node:assert/strict";
import { test } from "node:test";
import { toCrd } from "../../../operator/api/crd.ts";
import { eventWebhook, eventWebhookDefinition, eventWebhookSpec, eventWebhookStatus } from "../../../operator/api/event-webhook.ts";
import { formatPath, parseWith } from "../../../operator/api/issues.ts";
import { applyDefaults, validate, type Schema } from "./openapi.ts";

type Node = Record<string, unknown>;
type Version = { name: string; subresources: unknown; additionalPrinterColumns: { name: string; jsonPath: string; priority?: number }[]; schema: { openAPIV3Schema: { properties: { spec: Schema & Node; status: Schema } } } };
const crd = toCrd(eventWebhookDefinition) as { spec: { names: Node; versions: Version[] } };
const version = crd.spec.versions[0]!;
const specSchema = version.schema.openAPIV3Schema.properties.spec;

/** The API server's verdict on a spec, CEL rules aside: defaults, then the structural schema. */
function cluster(spec: unknown): string[] {
  return validate(specSchema, applyDefaults(specSchema, spec), "spec");
}

/** `field: message` for each issue, or [] when valid. */
function problems(spec: unknown): string[] {
  const r = parseWith(eventWebhookSpec, spec);
  return r.success ? [] : r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

const minimal = { endpoint: "https://hooks.example.com/events", version: "2", timeZone: "Asia/Tokyo" };
const full = {
  ...minimal,
  events: { bounces: true, deliveries: true },
  contentType: "json",
  auth: { basicSecretRef: { name: "basic" }, apiKeySecretRef: { name: "keys", key: "k" }, signingSecretRef: { name: "sign" } },
  batch: { intervalSeconds: 600, maxEvents: 10_000 },
  retry: { maxAgeHours: 168 },
  timeoutSeconds: 1,
};

test("a minimal spec gets the SPEC's defaults", () => {
  assert.deepEqual(eventWebhookSpec.parse(minimal), {
    ...minimal,
    events: { bounces: false, deliveries: false },
    contentType: "form",
    batch: { intervalSeconds: 1, maxEvents: 100 },
    retry: { maxAgeHours: 24 },
    timeoutSeconds: 30,
  });
});

test("the CRD's defaults are the zod schema's defaults", () => {
  const spec = { ...minimal, events: { bounces: true }, batch: { maxEvents: 500 }, auth: { apiKeySecretRef: { name: "k" }, signingSecretRef: { name: "s" } } };
  assert.deepEqual(applyDefaults(specSchema, spec), eventWebhookSpec.parse(spec));
});

test("the CRD and the zod schema accept the same valid specs", () => {
  const valid = [
    minimal,
    full,
    { ...minimal, version: "1", contentType: "form" },
    { ...minimal, batch: { intervalSeconds: 1, maxEvents: 100 }, retry: { maxAgeHours: 1 }, timeoutSeconds: 60 },
    { ...minimal, events: {} },
    { ...minimal, timeZone: "UTC" },
    { ...minimal, timeZone: "America/Argentina/Buenos_Aires" },
    { ...minimal, timeZone: "Etc/GMT+9" },
  ];
  for (const spec of valid) {
    assert.deepEqual(cluster(spec), [], JSON.stringify(spec));
    assert.deepEqual(problems(spec), [], JSON.stringify(spec));
  }
});

test("the CRD and the zod schema reject the same invalid specs", () => {
  const invalid: Record<string, unknown> = {
    "no endpoint": { version: "2", timeZone: "UTC" },
    "no version": { endpoint: minimal.endpoint, timeZone: "UTC" },
    "no time zone": { endpoint: minimal.endpoint, version: "2" },
    "http endpoint": { ...minimal, endpoint: "http://hooks.example.com/" },
    "version 3": { ...minimal, version: "3" },
    "version as a number": { ...minimal, version: 2 },
    "unknown content type": { ...minimal, contentType: "xml" },
    "lower-case zone": { ...minimal, timeZone: "asia/tokyo" },
    "offset instead of a zone": { ...minimal, timeZone: "+09:00" },
    "empty zone": { ...minimal, timeZone: "" },
    "zone with a space": { ...minimal, timeZone: "Asia/Tokyo " },
    "zone too long": { ...minimal, timeZone: `A${"a".repeat(64)}` },
    "events as a list": { ...minimal, events: ["bounces"] },
    "events flag as a string": { ...minimal, events: { bounces: "yes" } },
    "unknown event group": { ...minimal, events: { opens: true } },
    "interval 0": { ...minimal, batch: { intervalSeconds: 0 } },
    "interval 601": { ...minimal, batch: { intervalSeconds: 601 } },
    "fractional interval": { ...minimal, batch: { intervalSeconds: 1.5 } },
    "maxEvents 99": { ...minimal, batch: { maxEvents: 99 } },
    "maxEvents 10001": { ...minimal, batch: { maxEvents: 10_001 } },
    "max age 0": { ...minimal, retry: { maxAgeHours: 0 } },
    "max age 169": { ...minimal, retry: { maxAgeHours: 169 } },
    "timeout 0": { ...minimal, timeoutSeconds: 0 },
    "timeout 61": { ...minimal, timeoutSeconds: 61 },
    "unknown field": { ...minimal, suspended: true },
    "unknown auth field": { ...minimal, auth: { tokenSecretRef: { name: "x" } } },
    "null field": { ...minimal, contentType: null },
    // CEL rules: on the spec, json needs version 2; on the endpoint, no credentials.
    "json with version 1": { ...minimal, version: "1", contentType: "json" },
    "credentials in the endpoint": { ...minimal, endpoint: "https://user:pw@hooks.example.com/" },
  };
  for (const [name, spec] of Object.entries(invalid)) {
    assert.notDeepEqual(cluster(spec), [], `the CRD accepts: ${name}`);
    assert.notDeepEqual(problems(spec), [], `zod accepts: ${name}`);
  }
});

test("what only the operator catches, the zod schema catches too", () => {
  const stricter: Record<string, unknown> = {
    // A zone the CRD's pattern lets through but the time-zone database does not know.
    "unknown zone": { ...minimal, timeZone: "Asia/Atlantis" },
    "made-up single word": { ...minimal, timeZone: "Nowhere" },
  };
  for (const [name, spec] of Object.entries(stricter)) {
    assert.deepEqual(cluster(spec), [], `the API server already rejects: ${name}`);
    assert.notDeepEqual(problems(spec), [], `zod accepts: ${name}`);
  }
});

test("json with version 1 is a CEL rule on the spec, reported at spec.contentType", () => {
  assert.deepEqual(specSchema["x-kubernetes-validations"], [
    { fieldPath: ".contentType", message: 'contentType json needs version "2"', rule: "!has(self.contentType) || self.contentType != 'json' || self.version == '2'" },
  ]);
  assert.deepEqual(problems({ ...minimal, version: "1", contentType: "json" }), ['contentType: contentType json needs version "2"']);
  assert.deepEqual(problems({ ...minimal, version: "2", contentType: "json" }), []);
});

test("an unquoted version, which YAML reads as a number, is explained", () => {
  assert.deepEqual(problems({ ...minimal, version: 2 }), ['version: must be the string "1" or "2": quote it in YAML (version: "2")']);
  assert.deepEqual(problems({ ...minimal, version: "3" }), ['version: must be one of "1", "2"']);
  assert.deepEqual(problems({ endpoint: minimal.endpoint, timeZone: "UTC" }), ["version: is required"]);
});

test("time zones are IANA names as the database writes them, links included", () => {
  for (const timeZone of ["Asia/Tokyo", "Europe/London", "America/New_York", "UTC", "Etc/UTC", "US/Eastern", "Asia/Kolkata", "Asia/Calcutta", "Europe/Kyiv", "America/Port-au-Prince", "Antarctica/DumontDUrville"]) {
    assert.deepEqual(problems({ ...minimal, timeZone }), [], timeZone);
  }
  assert.deepEqual(problems({ ...minimal, timeZone: "asia/tokyo" }), ["timeZone: must be an IANA time zone name such as Asia/Tokyo, America/New_York or UTC (case matters)"]);
  assert.deepEqual(problems({ ...minimal, timeZone: "Asia/Atlantis" }), ["timeZone: is not a time zone of the IANA database (e.g. Asia/Tokyo, Europe/London, UTC)"]);
  assert.deepEqual(problems({ ...minimal, timeZone: "" }), ["timeZone: is required: an IANA time zone such as Asia/Tokyo or UTC"]);
});

test("out-of-range numbers name the field and the range", () => {
  assert.deepEqual(problems({ ...minimal, batch: { intervalSeconds: 0, maxEvents: 10_001 }, retry: { maxAgeHours: 200 }, timeoutSeconds: 0 }), [
    "batch.intervalSeconds: must be between 1 and 600",
    "batch.maxEvents: must be between 100 and 10000",
    "retry.maxAgeHours: must be between 1 and 168",
    "timeoutSeconds: must be between 1 and 60",
  ]);
});

test("a whole object needs our apiVersion and kind; status written into a manifest is ignored", () => {
  const r = parseWith(eventWebhook, { apiVersion: "mailhook.dev/v1alpha1", kind: "EventWebhook", metadata: { name: "a" }, spec: minimal, status: { bogus: 1 } });
  assert.equal(r.success, true);
  const wrong = parseWith(eventWebhook, { apiVersion: "mailhook.dev/v1alpha1", kind: "InboundWebhook", metadata: { name: "a" }, spec: minimal });
  assert.deepEqual(wrong.success ? [] : wrong.issues.map((i) => formatPath(i.path)), ["kind"]);
});

test("the status reports what was given up, and the CRD accepts it", () => {
  const status = {
    observedGeneration: 3,
    conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "ok", lastTransitionTime: "2025-01-01T00:00:00Z" }],
    pending: 12,
    eventsGivenUp: 250,
    lastGiveUpTime: "2025-01-02T03:04:05Z",
  };
  assert.equal(eventWebhookStatus.safeParse(status).success, true);
  assert.deepEqual(validate(version.schema.openAPIV3Schema.properties.status, status, "status"), []);
  assert.equal(eventWebhookStatus.safeParse({ ...status, eventsGivenUp: -1 }).success, false);
});

test("the CRD has a short name, a status subresource and columns for what kubectl get should show", () => {
  assert.deepEqual(crd.spec.names, {
    categories: ["mailhook"],
    kind: "EventWebhook",
    listKind: "EventWebhookList",
    plural: "eventwebhooks",
    shortNames: ["ehook"],
    singular: "eventwebhook",
  });
  assert.deepEqual(version.subresources, { status: {} });
  const shown = version.additionalPrinterColumns.filter((c) => c.priority === undefined).map((c) => c.name);
  assert.deepEqual(shown, ["Endpoint", "Version", "Deliveries", "Bounces", "Ready", "Pending", "Age"]);
  const wide = version.additionalPrinterColumns.filter((c) => c.priority === 1).map((c) => c.name);
  assert.deepEqual(wide, ["Time Zone", "Reason", "Last Success"]);
});
