import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTarget, compare, formatComparisons, formatResults, medianRun, percentile, summarise, type ScenarioRaw, type ScenarioResult } from "../../bench/stats.ts";

function raw(over: Partial<ScenarioRaw>): ScenarioRaw {
  return {
    system: "baseline", size: "small", mode: "reuse", count: 4, concurrency: 2,
    starts: [1000, 1000, 1010, 1010], acks: [1005, 1006, 1015, 1020], receipts: [1010, 1020, 1030, 2000],
    failures: 0, firstFailure: null, duplicates: 0, timedOut: false,
    cpuSeconds: 0.02, loopCpuSeconds: 0.012, peakRssBytes: 100 * 1024 * 1024, clientCpuSeconds: 0.004, receiverCpuSeconds: 0.002,
    ...over,
  };
}

test("percentiles use the nearest rank and are empty for no samples", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([], 50), null);
});

test("throughput spans the first send start to the last receipt, latency is receipt minus start", () => {
  const r = summarise(raw({}));
  assert.equal(r.received, 4);
  assert.equal(r.throughput, 4 / 1.0);
  assert.equal(r.latencyP50Ms, 20);
  assert.equal(r.latencyP99Ms, 990);
  assert.equal(r.ackLatencyP50Ms, 5);
  assert.equal(r.ackLatencyP99Ms, 10);
  assert.equal(r.cpuMsPerMessage, 5);
  assert.equal(r.loopCpuMsPerMessage, 3);
  assert.equal(r.clientCpuMsPerMessage, 1);
  assert.equal(r.peakRssMiB, 100);
});

test("messages never sent or never received are left out of latency and counted as missing", () => {
  const r = summarise(raw({ starts: [1000, 1000, null, null], receipts: [1500, null, null, null] }));
  assert.equal(r.received, 1);
  assert.equal(r.latencyP50Ms, 500);
});

test("ratios compare mailhook with the baseline only where both runs are complete", () => {
  const base = summarise(raw({}));
  const mh = summarise(raw({ system: "mailhook", receipts: [1010, 1020, 1030, 1500], cpuSeconds: 0.01 }));
  const [c] = compare([base, mh]);
  assert.equal(c?.throughputRatio, 2);
  assert.equal(c?.cpuPerMessageRatio, 0.5);
  // Its event loop spends 0.012 s against the baseline's 0.012 s: with cores to spare, a tie.
  assert.equal(c?.loopCeilingRatio, 1);
  const busyLoop = summarise(raw({ system: "mailhook", receipts: [1010, 1020, 1030, 1500], loopCpuSeconds: 0.024 }));
  assert.equal(compare([base, busyLoop])[0]?.loopCeilingRatio, 0.5);
  assert.equal(checkTarget(compare([base, mh])).verdict, "pass");

  const lossy = summarise(raw({ system: "mailhook", receipts: [1010, 1020, 1030, null] }));
  assert.equal(compare([base, lossy])[0]?.throughputRatio, null);
  assert.equal(checkTarget(compare([base, lossy])).verdict, "not measured");
});

test("the durable floor is compared with the baseline in a column of its own, shown only when it ran", () => {
  const base = summarise(raw({}));
  const mh = summarise(raw({ system: "mailhook", receipts: [1010, 1020, 1030, 1500] }));
  const floor = summarise(raw({ system: "floor", receipts: [1010, 1020, 1030, 1250] }));
  const [c] = compare([base, floor, mh]);
  assert.equal(c?.floorRatio, 4);
  assert.equal(c?.throughputRatio, 2);
  assert.match(formatComparisons(compare([base, floor, mh])), /durable floor\/baseline\n[- ]+\n.*4\.00×$/);
  assert.equal(compare([base, mh])[0]?.floorRatio, null);
  assert.doesNotMatch(formatComparisons(compare([base, mh])), /floor/);
});

test("a ratio below the target fails the check and names the lowest ratio", () => {
  const base = summarise(raw({}));
  const mh = summarise(raw({ system: "mailhook", receipts: [1010, 1020, 1030, 1800] }));
  const t = checkTarget(compare([base, mh]));
  assert.equal(t.verdict, "fail");
  assert.match(t.line, /FAIL \(lowest 1\.25×\)/);
});

test("of repeated runs the median throughput is reported, and a failed run only if all failed", () => {
  const at = (throughput: number | null, error?: string): ScenarioResult => ({ ...summarise(raw({})), throughput, ...(error ? { error } : {}) });
  assert.equal(medianRun([at(3), at(1), at(2)]).throughput, 2);
  assert.equal(medianRun([at(null, "down"), at(5)]).throughput, 5);
  assert.equal(medianRun([at(null, "down")]).error, "down");
});

test("the table says why a system was not run", () => {
  const r: ScenarioResult = { ...summarise(raw({ system: "mailhook" })), error: "bin/mailhook.ts does not exist" };
  assert.match(formatResults([r]), /not run: bin\/mailhook\.ts does not exist/);
});
