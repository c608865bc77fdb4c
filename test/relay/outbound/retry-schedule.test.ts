import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  nextOutboundAttempt,
  outboundRetryDeadline,
  outboundRetryDelayMs,
  type OutboundRetryPolicy,
} from "../../../relay/outbound/retry-schedule.ts";
import { outboundSettings } from "../../../relay/outbound/settings.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const defaults: OutboundRetryPolicy = outboundSettings.parse({}).retry;
const t0 = Date.UTC(2025, 5, 3, 10, 0, 0);

describe("the outbound retry delays", () => {
  test("the defaults wait 5, 10, 20 and 40 minutes, then every hour", () => {
    const delays = [1, 2, 3, 4, 5, 6, 50].map((n) => outboundRetryDelayMs(defaults, n) / MIN);
    assert.deepEqual(delays, [5, 10, 20, 40, 60, 60, 60]);
  });

  test("the delay never exceeds the cap, however many attempts", () => {
    for (const attempts of [10, 100, 1_000, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      assert.equal(outboundRetryDelayMs(defaults, attempts), HOUR);
    }
  });

  test("a zero or negative attempt count is read as the first attempt", () => {
    assert.equal(outboundRetryDelayMs(defaults, 0), 5 * MIN);
    assert.equal(outboundRetryDelayMs(defaults, -3), 5 * MIN);
  });

  test("a first delay equal to the cap makes a fixed interval", () => {
    const fixed = { firstDelaySeconds: 600, maxDelaySeconds: 600, maxAgeHours: 24 };
    assert.deepEqual([1, 2, 9].map((n) => outboundRetryDelayMs(fixed, n)), [600_000, 600_000, 600_000]);
  });

  test("fractional seconds give whole milliseconds", () => {
    assert.equal(outboundRetryDelayMs({ firstDelaySeconds: 0.0015, maxDelaySeconds: 1, maxAgeHours: 1 }, 1), 2);
  });
});

describe("the next outbound attempt", () => {
  test("the default lifetime is 5 days from first seen", () => {
    assert.equal(outboundRetryDeadline(defaults, t0), t0 + 120 * HOUR);
  });

  test("a failure early in the lifetime is retried after the delay of its attempt number", () => {
    assert.deepEqual(nextOutboundAttempt(defaults, { attempts: 1, firstSeenAt: t0 }, t0), { kind: "retry", at: t0 + 5 * MIN });
    assert.deepEqual(nextOutboundAttempt(defaults, { attempts: 3, firstSeenAt: t0 }, t0 + HOUR), { kind: "retry", at: t0 + HOUR + 20 * MIN });
  });

  test("the last retry is made at the deadline, not after it", () => {
    const deadline = t0 + 120 * HOUR;
    assert.deepEqual(nextOutboundAttempt(defaults, { attempts: 120, firstSeenAt: t0 }, deadline - 10 * MIN), { kind: "retry", at: deadline });
  });

  test("a failure at the deadline gives up", () => {
    const next = nextOutboundAttempt(defaults, { attempts: 124, firstSeenAt: t0 }, t0 + 120 * HOUR);
    assert.deepEqual(next, { kind: "give-up", reason: "retry period of 5 days ended after 124 attempts" });
  });

  test("a failure long after the deadline (the relay was down) gives up too", () => {
    const next = nextOutboundAttempt(defaults, { attempts: 1, firstSeenAt: t0 }, t0 + 30 * 24 * HOUR);
    assert.deepEqual(next, { kind: "give-up", reason: "retry period of 5 days ended after 1 attempt" });
  });

  test("the lifetime is read from the current policy, so a reload applies to waiting mail", () => {
    const job = { attempts: 10, firstSeenAt: t0 };
    const now = t0 + 30 * HOUR;
    assert.equal(nextOutboundAttempt(defaults, job, now).kind, "retry");
    assert.equal(nextOutboundAttempt({ ...defaults, maxAgeHours: 24 }, job, now).kind, "give-up");
  });

  test("the reason names the lifetime in hours when it is not whole days", () => {
    const policy = { ...defaults, maxAgeHours: 36 };
    assert.deepEqual(nextOutboundAttempt(policy, { attempts: 2, firstSeenAt: t0 }, t0 + 36 * HOUR), {
      kind: "give-up",
      reason: "retry period of 36 hours ended after 2 attempts",
    });
    assert.match((nextOutboundAttempt({ ...defaults, maxAgeHours: 1 }, { attempts: 2, firstSeenAt: t0 }, t0 + HOUR) as { reason: string }).reason, /of 1 hour ended/);
    assert.match((nextOutboundAttempt({ ...defaults, maxAgeHours: 24 }, { attempts: 2, firstSeenAt: t0 }, t0 + 24 * HOUR) as { reason: string }).reason, /of 1 day ended/);
  });

  test("walking the whole default schedule: every retry is later than the last and the total is bounded", () => {
    let now = t0;
    let attempts = 1;
    const times: number[] = [];
    for (;;) {
      const next = nextOutboundAttempt(defaults, { attempts, firstSeenAt: t0 }, now);
      if (next.kind === "give-up") break;
      assert.ok(next.at > now);
      times.push(next.at);
      now = next.at;
      attempts++;
    }
    // 4 growing delays (75 minutes), then hourly to the deadline, plus the first attempt.
    assert.equal(attempts, 1 + 4 + Math.ceil((120 * 60 - 75) / 60));
    assert.equal(times.at(-1), t0 + 120 * HOUR);
  });
});
