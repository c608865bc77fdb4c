import assert from "node:assert/strict";
import { test } from "node:test";
import { inboundRetryDeadline, nextInboundAttempt } from "../../../relay/queue/schedule.ts";
import type { InboundRetryPolicy, NextAttempt } from "../../../relay/queue/schedule.ts";

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
const policy: InboundRetryPolicy = { intervalSeconds: 60, periodDays: 3 };
const deadline = T0 + 3 * DAY;

function retryAt(result: NextAttempt): number {
  assert.equal(result.kind, "retry", `expected a retry, got ${JSON.stringify(result)}`);
  return result.kind === "retry" ? result.at : NaN;
}

test("the deadline is first-seen plus the period in days", () => {
  assert.equal(inboundRetryDeadline(policy, T0), deadline);
  assert.equal(inboundRetryDeadline({ intervalSeconds: 10, periodDays: 1 }, T0), T0 + DAY);
});

test("a failed attempt is retried one interval later", () => {
  assert.deepEqual(nextInboundAttempt(policy, { attempts: 1, firstSeenAt: T0 }, T0), { kind: "retry", at: T0 + MIN });
  assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 9, firstSeenAt: T0 }, T0 + DAY)), T0 + DAY + MIN);
});

test("a retry landing exactly on the deadline is still made", () => {
  assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 5, firstSeenAt: T0 }, deadline - MIN)), deadline);
});

test("once the next regular retry would fall after the period, the job is given up", () => {
  assert.deepEqual(nextInboundAttempt(policy, { attempts: 4320, firstSeenAt: T0 }, deadline - MIN + 1), {
    kind: "give-up",
    reason: "retry period of 3 days ended after 4320 attempts",
  });
  assert.equal(nextInboundAttempt(policy, { attempts: 1, firstSeenAt: T0 }, deadline).kind, "give-up");
  assert.equal(nextInboundAttempt(policy, { attempts: 1, firstSeenAt: T0 }, deadline + DAY).kind, "give-up");
});

test("the give-up reason reads naturally in the singular", () => {
  const result = nextInboundAttempt({ intervalSeconds: 600, periodDays: 1 }, { attempts: 1, firstSeenAt: T0 }, T0 + DAY);
  assert.deepEqual(result, { kind: "give-up", reason: "retry period of 1 day ended after 1 attempt" });
});

test("a Retry-After longer than the interval delays the retry to what the endpoint asked", () => {
  assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 1, firstSeenAt: T0 }, T0, 10 * MIN)), T0 + 10 * MIN);
});

test("a Retry-After shorter than the interval never brings the retry forward", () => {
  for (const retryAfterMs of [0, 1, 30_000, MIN - 1, MIN]) {
    assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 1, firstSeenAt: T0 }, T0, retryAfterMs)), T0 + MIN);
  }
});

test("a Retry-After reaching past the deadline is cut to one last attempt at the deadline", () => {
  const now = deadline - 5 * MIN;
  assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 7, firstSeenAt: T0 }, now, 2 * DAY)), deadline);
  assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 7, firstSeenAt: T0 }, now, Infinity)), deadline);
});

test("a Retry-After never makes the relay give up earlier or later than the regular schedule", () => {
  assert.equal(nextInboundAttempt(policy, { attempts: 7, firstSeenAt: T0 }, deadline - 30_000, 10 * MIN).kind, "give-up");
  assert.equal(nextInboundAttempt(policy, { attempts: 7, firstSeenAt: T0 }, deadline - MIN, 10 * DAY).kind, "retry");
});

test("a missing, negative or non-numeric Retry-After is ignored", () => {
  for (const retryAfterMs of [undefined, -5_000, Number.NaN, -Infinity]) {
    assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 1, firstSeenAt: T0 }, T0, retryAfterMs)), T0 + MIN);
  }
});

test("a fractional Retry-After is rounded up to whole milliseconds", () => {
  assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 1, firstSeenAt: T0 }, T0, 90_000.2)), T0 + 90_001);
});

test("a clock behind first-seen still schedules one interval from now", () => {
  assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 1, firstSeenAt: T0 }, T0 - 5_000)), T0 - 5_000 + MIN);
});

test("a shorter period after a reload applies to jobs already waiting", () => {
  const shorter = { intervalSeconds: 60, periodDays: 1 };
  assert.equal(nextInboundAttempt(shorter, { attempts: 1500, firstSeenAt: T0 }, T0 + 2 * DAY).kind, "give-up");
  assert.equal(retryAt(nextInboundAttempt(policy, { attempts: 1500, firstSeenAt: T0 }, T0 + 2 * DAY)), T0 + 2 * DAY + MIN);
});

test("failing every time follows the interval grid to the deadline and then gives up", () => {
  const daily = { intervalSeconds: 600, periodDays: 1 };
  let now = T0;
  let attempts = 1;
  for (;;) {
    const next = nextInboundAttempt(daily, { attempts, firstSeenAt: T0 }, now);
    if (next.kind === "give-up") {
      assert.equal(next.reason, "retry period of 1 day ended after 145 attempts");
      break;
    }
    assert.equal(next.at, now + 600_000);
    now = next.at;
    attempts++;
  }
  assert.equal(now, T0 + DAY);
});

test("over every allowed policy, retries stay within [now + interval, deadline] and give-up happens only past it", () => {
  const offsets = [0, 1, MIN, DAY - 1, DAY, 3 * DAY - 600_000, 3 * DAY - 10_001, 9 * DAY + 12_345, 10 * DAY];
  const retryAfters = [undefined, 0, 5_000, 600_000, 3_600_000, 20 * DAY];
  for (const intervalSeconds of [10, 11, 59, 60, 61, 300, 599, 600]) {
    for (const periodDays of [1, 2, 3, 7, 10]) {
      const p = { intervalSeconds, periodDays };
      const end = T0 + periodDays * DAY;
      for (const offset of offsets) {
        const now = T0 + offset;
        for (const retryAfterMs of retryAfters) {
          const result = nextInboundAttempt(p, { attempts: 3, firstSeenAt: T0 }, now, retryAfterMs);
          const label = JSON.stringify({ intervalSeconds, periodDays, offset, retryAfterMs });
          if (now + intervalSeconds * 1000 > end) {
            assert.equal(result.kind, "give-up", label);
            continue;
          }
          assert.equal(result.kind, "retry", label);
          if (result.kind !== "retry") continue;
          assert.ok(result.at >= now + intervalSeconds * 1000, label);
          assert.ok(result.at <= end, label);
          assert.ok(Number.isSafeInteger(result.at), label);
          if (retryAfterMs !== undefined) assert.equal(result.at, Math.min(end, now + Math.max(intervalSeconds * 1000, retryAfterMs)), label);
        }
      }
    }
  }
});
