import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { webhookSet } from "../../../relay/config/schema.ts";
import { build, statusKey, type BuildResult } from "../../../operator/desired/build.ts";
import { compareProblems, type SourcedObject } from "../../../operator/desired/problems.ts";
import { parseManifests } from "../../../operator/manifests/parse.ts";

const goldenDir = join(import.meta.dirname, "golden");
const desiredDir = join(import.meta.dirname, "..", "..", "..", "operator", "desired");

/** input.yaml → everything the build and the parser say about it, as plain JSON. */
async function run(name: string): Promise<{ parsed: ReturnType<typeof parseManifests>; result: BuildResult; json: unknown }> {
  const parsed = parseManifests(await readFile(join(goldenDir, name, "input.yaml"), "utf8"), "input.yaml");
  const result = build(parsed.resources, parsed.secrets);
  const json = {
    problems: [...parsed.problems, ...result.problems].sort(compareProblems),
    ignored: parsed.ignored,
    webhooks: result.webhooks,
    statuses: Object.fromEntries(result.statuses),
  };
  return { parsed, result, json };
}

const cases = (await readdir(goldenDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();

for (const name of cases) {
  test(`golden: ${name} builds exactly as expected.json says`, async () => {
    const { json } = await run(name);
    const expectedFile = join(goldenDir, name, "expected.json");
    // UPDATE_GOLDEN=1 rewrites the expectations; review the diff before committing it.
    if (process.env.UPDATE_GOLDEN === "1") await writeFile(expectedFile, `${JSON.stringify(json, null, 2)}\n`);
    assert.deepEqual(json, JSON.parse(await readFile(expectedFile, "utf8")));
  });
}

test("the golden cases cover valid, invalid field, bad regex, missing secret, duplicate, mixed, and valid and invalid EventWebhooks", () => {
  assert.deepEqual(cases, ["bad-regex", "duplicate", "event-invalid", "event-valid", "invalid-field", "missing-secret", "mixed", "valid"]);
});

test("every build result is a valid relay WebhookSet", async () => {
  for (const name of cases) webhookSet.parse((await run(name)).result.webhooks);
});

test("no Secret value ever appears in problems or statuses", async () => {
  const { result } = await run("missing-secret");
  assert.ok(result.problems.length >= 6);
  const said = JSON.stringify([result.problems, [...result.statuses]]);
  assert.doesNotMatch(said, /TOPSECRET|whsec_[A-Za-z0-9]|dHdvLWtleQ/);
});

test("the order of the input does not change the output, apart from which duplicate comes first", async () => {
  for (const name of cases.filter((c) => c !== "duplicate")) {
    const { parsed, result } = await run(name);
    const reversed = build([...parsed.resources].reverse(), [...parsed.secrets].reverse());
    assert.deepEqual(reversed.webhooks, result.webhooks, name);
    assert.deepEqual([...reversed.statuses], [...result.statuses], name);
    assert.deepEqual(new Set(reversed.problems.map((p) => JSON.stringify(p))), new Set(result.problems.map((p) => JSON.stringify(p))), name);
  }
});

test("the build leaves its input untouched (defaults build fresh values)", async () => {
  const { parsed } = await run("valid");
  const freeze = (v: unknown): void => {
    if (typeof v === "object" && v !== null) {
      Object.freeze(v);
      Object.values(v).forEach(freeze);
    }
  };
  const objects = [...parsed.resources, ...parsed.secrets].map((d) => d.object);
  const before = JSON.stringify(objects);
  objects.forEach(freeze);
  build(parsed.resources, parsed.secrets);
  assert.equal(JSON.stringify(objects), before);
});

test("objects read from the cluster (no file) are reported by kind and name", () => {
  const fromCluster: SourcedObject[] = [
    { object: { apiVersion: "mailhook.dev/v1alpha1", kind: "InboundWebhook", metadata: { name: "a", namespace: "ns", generation: 7 }, spec: { endpoint: "https://x.example/", conditions: [{ header: "To", pattern: "(" }] } } },
  ];
  const { problems, statuses, webhooks } = build(fromCluster, []);
  assert.deepEqual(problems, [
    { reason: "InvalidSpec", message: "is not a valid RE2 regular expression: missing closing ): `(`", kind: "InboundWebhook", key: "ns/a", field: "spec.conditions[0].pattern" },
  ]);
  assert.deepEqual(webhooks.inbound, []);
  assert.deepEqual(statuses.get(statusKey("InboundWebhook", "ns/a")), {
    observedGeneration: 7,
    conditions: [
      { type: "Ready", status: "False", reason: "InvalidSpec", message: "spec.conditions[0].pattern: is not a valid RE2 regular expression: missing closing ): `(`", observedGeneration: 7 },
    ],
  });
});

test("objects without a namespace take the configured default namespace", () => {
  const object = { apiVersion: "mailhook.dev/v1alpha1", kind: "InboundWebhook", metadata: { name: "a" }, spec: { endpoint: "https://x.example/", conditions: [{ header: "To", pattern: "." }] } };
  const { webhooks } = build([{ object }], [], { defaultNamespace: "team-a" });
  assert.equal(webhooks.inbound[0]?.key, "team-a/a");
});

test("the pure build imports no I/O module", async () => {
  for (const file of await readdir(desiredDir)) {
    const source = await readFile(join(desiredDir, file), "utf8");
    const imports = [...source.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
    for (const spec of imports) assert.ok(!spec.startsWith("node:") && !/\/(manifests|validate)/.test(spec), `${file} imports ${spec}`);
  }
});

test("an empty namespace means the default one, as with kubectl", () => {
  const object = { apiVersion: "mailhook.dev/v1alpha1", kind: "InboundWebhook", metadata: { name: "a", namespace: "" }, spec: { endpoint: "https://x.example/", conditions: [{ header: "To", pattern: "." }] } };
  assert.equal(build([{ object }], []).webhooks.inbound[0]?.key, "default/a");
});

test("an object without a name is still reported, by kind", () => {
  const { problems, statuses } = build([{ object: { apiVersion: "mailhook.dev/v1alpha1", kind: "InboundWebhook", metadata: {}, spec: {} } }], []);
  assert.deepEqual(problems.map((p) => [p.key, p.field, p.message]), [
    [undefined, "metadata.name", "is required"],
    [undefined, "spec.endpoint", "is required"],
    [undefined, "spec.conditions", "is required"],
  ]);
  assert.equal(statuses.size, 0);
});

test("an unknown version of our kind is reported at apiVersion, a misspelt kind at kind", () => {
  const spec = { endpoint: "https://x.example/", conditions: [{ header: "To", pattern: "." }] };
  const { problems } = build(
    [
      { object: { apiVersion: "mailhook.dev/v1", kind: "InboundWebhook", metadata: { name: "a" }, spec } },
      { object: { apiVersion: "mailhook.dev/v1alpha1", kind: "Inboundwebhook", metadata: { name: "b" }, spec } },
    ],
    [],
  );
  assert.deepEqual(problems.map((p) => [p.key, p.field, p.message]), [
    ["default/a", "apiVersion", 'unsupported version "mailhook.dev/v1"; this mailhook serves EventWebhook and InboundWebhook (mailhook.dev/v1alpha1)'],
    ["default/b", "kind", 'unknown mailhook.dev kind "Inboundwebhook"; this mailhook serves EventWebhook and InboundWebhook (mailhook.dev/v1alpha1)'],
  ]);
});

test("an EventWebhook read from the cluster gets its status under its own kind, beside an InboundWebhook of the same name", () => {
  const metadata = { name: "a", namespace: "ns", generation: 4 };
  const { problems, statuses, webhooks } = build(
    [
      { object: { apiVersion: "mailhook.dev/v1alpha1", kind: "EventWebhook", metadata, spec: { endpoint: "https://x.example/", version: "1", contentType: "json", timeZone: "UTC" } } },
      { object: { apiVersion: "mailhook.dev/v1alpha1", kind: "InboundWebhook", metadata, spec: { endpoint: "https://x.example/", conditions: [{ header: "To", pattern: "." }] } } },
    ],
    [],
  );
  assert.deepEqual(problems, [{ reason: "InvalidSpec", message: 'contentType json needs version "2"', kind: "EventWebhook", key: "ns/a", field: "spec.contentType" }]);
  assert.deepEqual(webhooks.event, []);
  assert.equal(webhooks.inbound.length, 1);
  assert.deepEqual([...statuses.keys()], ["EventWebhook/ns/a", "InboundWebhook/ns/a"]);
  assert.equal(statuses.get(statusKey("EventWebhook", "ns/a"))?.conditions[0]?.message, 'spec.contentType: contentType json needs version "2"');
  assert.equal(statuses.get(statusKey("InboundWebhook", "ns/a"))?.conditions[0]?.reason, "Ready");
});

test("an EventWebhook's relay configuration carries every setting, defaults filled in", () => {
  const object = { apiVersion: "mailhook.dev/v1alpha1", kind: "EventWebhook", metadata: { name: "e" }, spec: { endpoint: "https://x.example/e", events: { deliveries: true }, version: "2", timeZone: "Asia/Tokyo" } };
  assert.deepEqual(build([{ object }], []).webhooks.event, [
    {
      key: "default/e",
      namespace: "default",
      name: "e",
      endpoint: "https://x.example/e",
      events: { bounces: false, deliveries: true },
      version: "2",
      contentType: "form",
      timeZone: "Asia/Tokyo",
      auth: {},
      batch: { intervalSeconds: 1, maxEvents: 100 },
      retry: { maxAgeHours: 24 },
      timeoutSeconds: 30,
    },
  ]);
});

test("the relay still takes a webhook set written before EventWebhooks existed, and refuses an unknown zone", () => {
  assert.deepEqual(webhookSet.parse({ inbound: [] }), { inbound: [], event: [] });
  const object = { apiVersion: "mailhook.dev/v1alpha1", kind: "EventWebhook", metadata: { name: "e" }, spec: { endpoint: "https://x.example/e", version: "2", timeZone: "UTC" } };
  const [config] = build([{ object }], []).webhooks.event;
  assert.equal(webhookSet.safeParse({ inbound: [], event: [{ ...config, timeZone: "Mars/Base" }] }).success, false);
});
