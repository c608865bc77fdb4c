import assert from "node:assert/strict";
import { test } from "node:test";
import { compareProblems, formatProblem, type Problem } from "../../../operator/desired/problems.ts";

test("a problem reads as file:line: kind namespace/name: field: message", () => {
  const p: Problem = {
    reason: "InvalidSpec",
    message: "must be between 10 and 600",
    file: "manifests/orders.yaml",
    line: 14,
    kind: "InboundWebhook",
    key: "default/orders",
    field: "spec.retry.intervalSeconds",
  };
  assert.equal(formatProblem(p), "manifests/orders.yaml:14: InboundWebhook default/orders: spec.retry.intervalSeconds: must be between 10 and 600");
});

test("parts that are unknown are left out of the line", () => {
  assert.equal(formatProblem({ reason: "Unreadable", message: "cannot read: ENOENT", file: "nope.yaml" }), "nope.yaml: cannot read: ENOENT");
  assert.equal(formatProblem({ reason: "InvalidSpec", message: "is required", key: "ns/a", field: "spec.endpoint" }), "ns/a: spec.endpoint: is required");
});

test("problems sort by file and line, and those without a file come last by object", () => {
  const problems: Problem[] = [
    { reason: "InvalidSpec", message: "x", key: "b/b" },
    { reason: "InvalidSpec", message: "x", file: "b.yaml", line: 1 },
    { reason: "InvalidSpec", message: "x", file: "a.yaml", line: 9 },
    { reason: "InvalidSpec", message: "x", key: "a/a" },
    { reason: "InvalidSpec", message: "x", file: "a.yaml", line: 2 },
  ];
  const order = [...problems].sort(compareProblems).map((p) => p.file === undefined ? p.key : `${p.file}:${p.line}`);
  assert.deepEqual(order, ["a.yaml:2", "a.yaml:9", "b.yaml:1", "a/a", "b/b"]);
});

test("an object without a name is named by its kind", () => {
  assert.equal(formatProblem({ reason: "InvalidSpec", message: "is required", file: "a.yaml", line: 3, kind: "InboundWebhook", field: "metadata.name" }), "a.yaml:3: InboundWebhook: metadata.name: is required");
});
