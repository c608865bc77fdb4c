import assert from "node:assert/strict";
import { test } from "node:test";
import { parseManifests } from "../../../operator/manifests/parse.ts";

const webhook = (name: string, extra = "") => `apiVersion: mailhook.dev/v1alpha1
kind: InboundWebhook
metadata:
  name: ${name}
spec:
  endpoint: https://hooks.example.com/${name}
  conditions:
    - header: To
      pattern: ^${name}@
${extra}`;

test("each document of a multi-document file keeps its file, index and starting line", () => {
  const text = `${webhook("a")}---\n${webhook("b")}---\napiVersion: v1\nkind: Secret\nmetadata: { name: s }\n`;
  const parsed = parseManifests(text, "m.yaml");
  assert.deepEqual(parsed.resources.map((d) => [d.source.file, d.source.index, d.source.line]), [["m.yaml", 0, 1], ["m.yaml", 1, 11]]);
  assert.deepEqual(parsed.secrets.map((d) => [d.source.index, d.source.line, d.kind]), [[2, 21, "Secret"]]);
  assert.deepEqual(parsed.problems, []);
});

test("a field's line is found in the document, or its closest parent's when the field is missing", () => {
  const [doc] = parseManifests(webhook("a", "  retry:\n    intervalSeconds: 5\n"), "m.yaml").resources;
  assert.ok(doc?.source.lineAt);
  assert.equal(doc.source.lineAt(["spec", "retry", "intervalSeconds"]), 11);
  assert.equal(doc.source.lineAt(["spec", "conditions", 0, "pattern"]), 9);
  assert.equal(doc.source.lineAt(["spec", "retry", "periodDays"]), 10);
  assert.equal(doc.source.lineAt(["spec", "timeoutSeconds"]), 5);
});

test("a YAML syntax error is reported with its line and spoils only its own document", () => {
  const text = `${webhook("a")}---\nkind: [unclosed\n---\n${webhook("b")}`;
  const parsed = parseManifests(text, "m.yaml");
  assert.deepEqual(parsed.resources.map((d) => d.source.index), [0, 2]);
  assert.equal(parsed.problems.length, 1);
  assert.equal(parsed.problems[0]?.reason, "InvalidManifest");
  assert.equal(parsed.problems[0]?.file, "m.yaml");
  assert.match(parsed.problems[0]?.message ?? "", /^YAML: /);
  assert.ok((parsed.problems[0]?.line ?? 0) >= 11);
});

test("YAML errors never quote the source, which may hold a Secret value", () => {
  const parsed = parseManifests("apiVersion: v1\nkind: Secret\nstringData:\n  password: TOPSECRET\n  password: TOPSECRET2\n", "s.yaml");
  assert.equal(parsed.problems.length, 1);
  assert.doesNotMatch(JSON.stringify(parsed.problems), /TOPSECRET/);
});

test("values are read as kubectl reads them: yes is true, but dates and 1:20 stay strings", () => {
  const [doc] = parseManifests(webhook("a", "  suspended: yes\n  date: 2024-01-01\n  time: 1:20\n"), "m.yaml").resources;
  const spec = (doc?.object as { spec: Record<string, unknown> }).spec;
  assert.equal(spec.suspended, true);
  assert.equal(spec.date, "2024-01-01");
  assert.equal(spec.time, "1:20");
});

test("other kinds are ignored and listed, not reported as problems", () => {
  const parsed = parseManifests("apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n---\napiVersion: v1\nkind: ConfigMap\n", "m.yaml");
  assert.deepEqual(parsed.ignored, [
    { file: "m.yaml", line: 1, apiVersion: "apps/v1", kind: "Deployment", name: "web" },
    { file: "m.yaml", line: 5, apiVersion: "v1", kind: "ConfigMap" },
  ]);
  assert.deepEqual(parsed.problems, []);
});

test("anything in the mailhook.dev group is ours, so a misspelt kind reaches the build", () => {
  const parsed = parseManifests("apiVersion: mailhook.dev/v1alpha1\nkind: InboundWebHook\n", "m.yaml");
  assert.equal(parsed.resources.length, 1);
});

test("a document that is not an object with apiVersion and kind is a problem; an empty one is nothing", () => {
  const parsed = parseManifests("---\n---\n- a list\n---\nname: no-kind\n---\n# only a comment\n", "m.yaml");
  assert.deepEqual(parsed.problems.map((p) => [p.line, p.message]), [
    [3, "not a Kubernetes object: expected a mapping with apiVersion and kind"],
    [5, "not a Kubernetes object: apiVersion and kind are required"],
  ]);
});

test("the items of a List are read one by one, with their own lines", () => {
  const list = `apiVersion: v1\nkind: List\nitems:\n  - ${webhook("a").replaceAll("\n", "\n    ").trimEnd()}\n  - apiVersion: v1\n    kind: Secret\n    metadata: { name: s }\n`;
  const parsed = parseManifests(list, "list.yaml");
  assert.deepEqual(parsed.resources.map((d) => d.source.line), [4]);
  assert.deepEqual(parsed.secrets.map((d) => d.source.line), [13]);
  assert.equal(parsed.resources[0]?.source.lineAt?.(["spec", "endpoint"]), 9);
});

test("alias bombs are refused instead of expanded", () => {
  const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
  const parsed = parseManifests(bomb, "bomb.yaml");
  assert.equal(parsed.problems.length, 1);
  assert.match(parsed.problems[0]?.message ?? "", /^YAML: /);
});
