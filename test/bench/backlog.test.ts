import assert from "node:assert/strict";
import { test } from "node:test";
import { ackRate, formatBacklog, type BacklogResult } from "../../bench/backlog.ts";

test("intake rates are taken over the acks between two ranks", () => {
  const acks = [1000, 1100, 1200, 1300, 2000];
  assert.equal(ackRate(acks, 0, 3), 10);
  assert.equal(ackRate(acks, 3, 4), 1000 / 700);
  assert.equal(ackRate(acks, 2, 2), null);
  assert.equal(ackRate(acks, 0, 9), null);
});

test("the backlog table says what went wrong", () => {
  const r: BacklogResult = {
    count: 10, accepted: 9, failures: 1, firstFailure: "451 busy", intakeMsgsPerSecond: 90, firstTenthMsgsPerSecond: 100,
    lastTenthMsgsPerSecond: 80, ackLatencyP99Ms: 12, intakeCpuMsPerMessage: 0.4,
    rssMiB: { start: 150, intakePeak: 200, intakeEnd: 190, drainPeak: 210 },
    drainSeconds: 10, drainMsgsPerSecond: 0.9, received: 9, duplicates: 0, refusedPosts: 27, timedOut: false,
  };
  const table = formatBacklog(r);
  assert.match(table, /100\/80/);
  assert.match(table, /150\/200\/190\s+27\s/);
  assert.match(table, /1 refused\/failed \(451 busy\)/);
  assert.match(table, /peak 210 MiB/);
});
