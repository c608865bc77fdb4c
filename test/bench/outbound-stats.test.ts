import assert from "node:assert/strict";
import { test } from "node:test";
import { compareOutbound, formatEventResults, summariseEvents, type OutboundResult } from "../../bench/outbound-stats.ts";
import { summarise, type ScenarioRaw } from "../../bench/stats.ts";

test("events count per accepted mail and status, from the first send start to the last event", () => {
  const e = summariseEvents({
    starts: [1000, 1000, 1100],
    acks: [1010, 1010, null],
    events: [[1500, 1500, null], [1800, 2000, null]],
    posts: 2,
  });
  assert.equal(e.expected, 4);
  assert.equal(e.received, 4);
  assert.equal(e.throughput, 4 / 1.0);
  assert.equal(e.batchesPerSecond, 2);
  assert.equal(e.meanBatchSize, 2);
  assert.equal(e.requestsPerEvent, 0.5);
  assert.equal(e.latencyP50Ms, 500);
  assert.equal(e.latencyP99Ms, 1000);
});

test("an event that never arrived is missing, and no events means no rates", () => {
  const e = summariseEvents({ starts: [1000], acks: [1010], events: [[1200], [null]], posts: 1 });
  assert.equal(e.expected, 2);
  assert.equal(e.received, 1);
  const none = summariseEvents({ starts: [1000], acks: [null], events: [[null]], posts: 0 });
  assert.equal(none.throughput, null);
  assert.equal(none.meanBatchSize, null);
});

function result(system: "mailhook" | "baseline", eventReceipts: (number | null)[], posts: number): OutboundResult {
  const raw: ScenarioRaw = {
    system, size: "small", mode: "reuse", count: 2, concurrency: 1,
    starts: [1000, 1000], acks: [1010, 1010], receipts: [1100, 1200],
    failures: 0, firstFailure: null, duplicates: 0, timedOut: false,
    cpuSeconds: 0.002, loopCpuSeconds: 0.001, peakRssBytes: null, clientCpuSeconds: 0, receiverCpuSeconds: 0,
  };
  return { scenario: "events", mail: summarise(raw), events: summariseEvents({ starts: raw.starts, acks: raw.acks, events: [eventReceipts], posts }) };
}

test("the events ratio compares events/s only where both systems delivered every event", () => {
  const [c] = compareOutbound([result("baseline", [1250, 1500], 2), result("mailhook", [1250, 1250], 1)]);
  assert.equal(c?.throughputRatio, 1);
  assert.equal(c?.eventThroughputRatio, 2);
  assert.equal(c?.mailhookRequestsPerEvent, 0.5);
  assert.equal(c?.baselineRequestsPerEvent, 1);
  const [lossy] = compareOutbound([result("baseline", [1250, 1500], 2), result("mailhook", [1250, null], 1)]);
  assert.equal(lossy?.eventThroughputRatio, null);
  assert.match(formatEventResults([result("mailhook", [1250, 1250], 1)]), /events\s+mailhook\s+2\s+2\s+8\s+1\s/);
});
