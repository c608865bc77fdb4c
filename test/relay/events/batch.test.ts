import assert from "node:assert/strict";
import { test } from "node:test";
import {
  batchExpired,
  batchRetryDeadline,
  batchRetryDelay,
  maxBatchesPerPlan,
  maxRetryDelayMs,
  nextBatchAttempt,
  planBatches,
  type BatchPolicy,
} from "../../../relay/events/batch.ts";
import type { NextAttempt } from "../../../relay/queue/schedule.ts";

const S = 1000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);
const policy: BatchPolicy = { intervalSeconds: 1, maxEvents: 100 };

// ---- forming batches ----

test("nothing waiting forms nothing and needs no timer", () => {
  assert.deepEqual(planBatches(policy, { waiting: 0, backlogged: false }, T0), { sizes: [] });
  assert.deepEqual(planBatches(policy, { waiting: 0, lastFormedAt: T0, backlogged: false }, T0), { sizes: [] });
});

test("an event after a quiet spell goes at once", () => {
  assert.deepEqual(planBatches(policy, { waiting: 1, backlogged: false }, T0), { sizes: [1] });
  assert.deepEqual(planBatches(policy, { waiting: 3, lastFormedAt: T0 - 60 * S, backlogged: false }, T0), { sizes: [3] });
});

test("within an interval of the previous batch, events wait until the interval has passed", () => {
  const slow: BatchPolicy = { intervalSeconds: 600, maxEvents: 100 };
  assert.deepEqual(planBatches(slow, { waiting: 5, lastFormedAt: T0, backlogged: false }, T0 + 1), { sizes: [], nextAt: T0 + 600 * S });
  assert.deepEqual(planBatches(slow, { waiting: 5, lastFormedAt: T0, backlogged: false }, T0 + 600 * S - 1), { sizes: [], nextAt: T0 + 600 * S });
  assert.deepEqual(planBatches(slow, { waiting: 5, lastFormedAt: T0, backlogged: false }, T0 + 600 * S), { sizes: [5] });
});

test("maxEvents waiting form a full batch at once, whatever the interval", () => {
  const slow: BatchPolicy = { intervalSeconds: 600, maxEvents: 100 };
  assert.deepEqual(planBatches(slow, { waiting: 100, lastFormedAt: T0, backlogged: false }, T0 + 1), { sizes: [100] });
  assert.deepEqual(planBatches(slow, { waiting: 100, lastFormedAt: T0, backlogged: true }, T0 + 1), { sizes: [100] });
});

test("no batch ever holds more than maxEvents; the rest waits an interval behind the full ones", () => {
  assert.deepEqual(planBatches(policy, { waiting: 250, lastFormedAt: T0, backlogged: false }, T0 + 10), { sizes: [100, 100], nextAt: T0 + 10 + S });
  // Even when the interval was due: the full batches restart it.
  assert.deepEqual(planBatches(policy, { waiting: 250, backlogged: false }, T0), { sizes: [100, 100], nextAt: T0 + S });
  assert.deepEqual(planBatches({ intervalSeconds: 5, maxEvents: 10_000 }, { waiting: 30_000, backlogged: false }, T0), { sizes: [10_000, 10_000, 10_000] });
});

test("while an earlier batch is undelivered, a partial batch waits for it and no timer is needed", () => {
  assert.deepEqual(planBatches(policy, { waiting: 99, lastFormedAt: T0 - HOUR, backlogged: true }, T0), { sizes: [] });
  assert.deepEqual(planBatches(policy, { waiting: 1, backlogged: true }, T0), { sizes: [] });
  assert.deepEqual(planBatches(policy, { waiting: 150, lastFormedAt: T0 - HOUR, backlogged: true }, T0), { sizes: [100] });
});

test("a clock that jumped back holds events for one interval at most", () => {
  assert.deepEqual(planBatches(policy, { waiting: 5, lastFormedAt: T0 + HOUR, backlogged: false }, T0), { sizes: [], nextAt: T0 + S });
});

test("a huge backlog is formed a bounded number of batches per plan, and asks to be planned again at once", () => {
  const plan = planBatches(policy, { waiting: 1_000_000, backlogged: false }, T0);
  assert.equal(plan.sizes.length, maxBatchesPerPlan);
  assert.ok(plan.sizes.every((n) => n === 100));
  assert.equal(plan.nextAt, T0);
});

test("a count that is not a count, or a policy without room for an event, is a RangeError", () => {
  for (const waiting of [-1, 1.5, NaN, Infinity]) assert.throws(() => planBatches(policy, { waiting, backlogged: false }, T0), RangeError);
  assert.throws(() => planBatches({ intervalSeconds: 1, maxEvents: 0 }, { waiting: 1, backlogged: false }, T0), RangeError);
});

/**
 * Runs the policy the way the relay would: events arrive at the given times, the planner runs on every
 * arrival and at every nextAt, and a formed batch is delivered `deliveryMs` later. Returns each batch's
 * formation time and size, and the longest any event waited to be formed.
 */
function simulate(p: BatchPolicy, arrivals: number[], deliveryMs: number): { batches: { at: number; size: number }[]; longestWait: number } {
  const batches: { at: number; size: number }[] = [];
  const queue: number[] = [];
  let lastFormedAt: number | undefined;
  let deliveredAt = -Infinity;
  let timer: number | undefined;
  let longestWait = 0;
  const plan = (now: number) => {
    const result = planBatches(p, { waiting: queue.length, lastFormedAt, backlogged: now < deliveredAt }, now);
    for (const size of result.sizes) {
      const events = queue.splice(0, size);
      longestWait = Math.max(longestWait, now - events[0]!);
      batches.push({ at: now, size });
      lastFormedAt = now;
      deliveredAt = Math.max(deliveredAt, now) + deliveryMs;
    }
    timer = result.nextAt;
  };
  const end = arrivals.at(-1)! + 3_600_000;
  let i = 0;
  for (let now = arrivals[0]!; now <= end && (i < arrivals.length || queue.length > 0); now++) {
    let wake = false;
    while (i < arrivals.length && arrivals[i] === now) {
      queue.push(now);
      i++;
      wake = true;
    }
    if (timer !== undefined && now >= timer) wake = true;
    if (now === deliveredAt) wake = true;
    if (wake) plan(now);
  }
  assert.equal(queue.length, 0, "every event ends up in a batch");
  return { batches, longestWait };
}

test("steady load below maxEvents per interval: one request per interval, and no event waits longer than that", () => {
  // An event every 10 ms for 10 s: 100 per second, interval 1 s, maxEvents 200.
  const arrivals = Array.from({ length: 1000 }, (_, k) => T0 + k * 10);
  const { batches, longestWait } = simulate({ intervalSeconds: 1, maxEvents: 200 }, arrivals, 20);
  assert.equal(batches.reduce((n, b) => n + b.size, 0), 1000);
  assert.ok(batches.length <= 11, `${batches.length} requests in 10 s`);
  for (let k = 1; k < batches.length; k++) assert.ok(batches[k]!.at - batches[k - 1]!.at >= S, "at most one request per interval");
  assert.ok(longestWait <= S, `an event waited ${longestWait} ms`);
  assert.equal(batches[0]!.size, 1, "the first event after a quiet spell went at once");
});

test("steady load above maxEvents per interval: full batches only, never more than maxEvents", () => {
  // 500 events per second for 4 s with maxEvents 100: batches are formed by count, not by time.
  const arrivals = Array.from({ length: 2000 }, (_, k) => T0 + k * 2);
  const { batches } = simulate({ intervalSeconds: 1, maxEvents: 100 }, arrivals, 5);
  assert.ok(batches.every((b) => b.size <= 100));
  assert.equal(batches.reduce((n, b) => n + b.size, 0), 2000);
  const partial = batches.slice(1, -1).filter((b) => b.size < 100);
  assert.ok(partial.length <= 4, `${partial.length} partial batches in 4 s`);
});

test("a slow endpoint makes batches bigger instead of piling up small ones", () => {
  // An event every 10 ms, each request takes 3 s: the partial batch waits for the previous delivery.
  const arrivals = Array.from({ length: 1000 }, (_, k) => T0 + k * 10);
  const { batches } = simulate({ intervalSeconds: 1, maxEvents: 1000 }, arrivals, 3000);
  assert.ok(batches.length <= 6, `${batches.length} requests`);
  assert.ok(batches.slice(1, -1).every((b) => b.size >= 250), JSON.stringify(batches));
});

// ---- retrying a batch ----

test("the retry delay doubles from 1 s and stops at 5 minutes", () => {
  const delays = Array.from({ length: 12 }, (_, k) => batchRetryDelay(k + 1) / S);
  assert.deepEqual(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
  assert.equal(batchRetryDelay(0), S, "no attempt yet counts as the first");
  assert.equal(batchRetryDelay(1_000_000), maxRetryDelayMs);
});

test("the deadline is maxAgeHours after the batch was formed", () => {
  assert.equal(batchRetryDeadline({ maxAgeHours: 24 }, T0), T0 + 24 * HOUR);
  assert.equal(batchRetryDeadline({ maxAgeHours: 1 }, T0), T0 + HOUR);
});

function retryAt(result: NextAttempt): number {
  assert.equal(result.kind, "retry", `expected a retry, got ${JSON.stringify(result)}`);
  return result.kind === "retry" ? result.at : NaN;
}

test("a failed attempt is retried after the backoff step for its attempt count", () => {
  assert.deepEqual(nextBatchAttempt({ maxAgeHours: 24 }, { attempts: 1, formedAt: T0 }, T0), { kind: "retry", at: T0 + S });
  assert.equal(retryAt(nextBatchAttempt({ maxAgeHours: 24 }, { attempts: 4, formedAt: T0 }, T0 + 10 * S)), T0 + 18 * S);
  assert.equal(retryAt(nextBatchAttempt({ maxAgeHours: 24 }, { attempts: 50, formedAt: T0 }, T0 + HOUR)), T0 + HOUR + maxRetryDelayMs);
});

test("the last attempt is made exactly at the deadline; a failure then gives the batch up", () => {
  const deadline = T0 + 24 * HOUR;
  assert.equal(retryAt(nextBatchAttempt({ maxAgeHours: 24 }, { attempts: 200, formedAt: T0 }, deadline - 60 * S)), deadline);
  assert.deepEqual(nextBatchAttempt({ maxAgeHours: 24 }, { attempts: 201, formedAt: T0 }, deadline), {
    kind: "give-up",
    reason: "not delivered within 24 hours (201 attempts)",
  });
  assert.equal(nextBatchAttempt({ maxAgeHours: 24 }, { attempts: 1, formedAt: T0 }, deadline + HOUR).kind, "give-up");
});

test("the give-up reason reads naturally in the singular", () => {
  assert.deepEqual(nextBatchAttempt({ maxAgeHours: 1 }, { attempts: 1, formedAt: T0 }, T0 + HOUR), { kind: "give-up", reason: "not delivered within 1 hour (1 attempt)" });
});

test("Retry-After can delay the next attempt but never bring it forward or push it past the deadline", () => {
  const p = { maxAgeHours: 24 };
  assert.equal(retryAt(nextBatchAttempt(p, { attempts: 1, formedAt: T0 }, T0, 120 * S)), T0 + 120 * S);
  for (const retryAfterMs of [0, 1, 999, -5, NaN]) assert.equal(retryAt(nextBatchAttempt(p, { attempts: 1, formedAt: T0 }, T0, retryAfterMs)), T0 + S);
  assert.equal(retryAt(nextBatchAttempt(p, { attempts: 1, formedAt: T0 }, T0, 1.2)), T0 + S);
  assert.equal(retryAt(nextBatchAttempt(p, { attempts: 3, formedAt: T0 }, T0 + 23 * HOUR, 2 * HOUR)), T0 + 24 * HOUR);
  assert.equal(retryAt(nextBatchAttempt(p, { attempts: 3, formedAt: T0 }, T0 + 23 * HOUR, Infinity)), T0 + 24 * HOUR);
});

test("a batch that waited past its deadline behind a failing one is expired before any attempt", () => {
  const p = { maxAgeHours: 24 };
  assert.equal(batchExpired(p, T0, T0 + 24 * HOUR - 1), false);
  assert.equal(batchExpired(p, T0, T0 + 24 * HOUR), false, "an attempt at the deadline is still allowed");
  assert.equal(batchExpired(p, T0, T0 + 24 * HOUR + 1), true);
});

test("an endpoint down for good sees a bounded, deterministic schedule that ends at the deadline", () => {
  const p = { maxAgeHours: 24 };
  const attemptsAt = [T0];
  for (;;) {
    const next = nextBatchAttempt(p, { attempts: attemptsAt.length, formedAt: T0 }, attemptsAt.at(-1)!);
    if (next.kind === "give-up") break;
    attemptsAt.push(next.at);
  }
  const gaps = attemptsAt.slice(1).map((t, k) => t - attemptsAt[k]!);
  assert.deepEqual(gaps.slice(0, 10).map((g) => g / S), [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
  assert.ok(gaps.every((g) => g <= maxRetryDelayMs && g > 0));
  assert.equal(attemptsAt.at(-1), T0 + 24 * HOUR);
  // 511 s of doubling, then every 5 minutes: 9 + ceil((86400 - 511) / 300) retries after the first attempt.
  assert.equal(attemptsAt.length, 1 + 9 + Math.ceil((24 * 3600 - 511) / 300));
});
