// The outbound retry schedule: when a deferred mail is tried again, and when the relay gives up on it.
// Pure: the caller passes the clock; times are milliseconds since the epoch. The job stores what the
// schedule needs (attempts made, first seen, next attempt), so a restart resumes exactly.
//
// Rules, in order (Postfix's queue manager behaves alike: minimal_backoff_time 300 s, doubling up to
// maximal_backoff_time, maximal_queue_lifetime 5 days):
// 1. The deadline is `firstSeenAt + maxAgeHours`, recomputed from the current policy on every failure,
//    so a reload that changes the lifetime applies to mails already waiting.
// 2. A failure at or after the deadline gives up: `failed` + `bounced`, error status 3 (retry timeout).
// 3. Otherwise the delay after attempt n is firstDelay · 2^(n−1), capped at maxDelay: with the defaults
//    5, 10, 20, 40 minutes, then hourly.
// 4. A retry never lands after the deadline: the last one is made at the deadline itself, so a
//    destination gets its whole lifetime to recover.

export interface OutboundRetryPolicy {
  readonly firstDelaySeconds: number;
  readonly maxDelaySeconds: number;
  readonly maxAgeHours: number;
}

export interface OutboundAttemptState {
  /** Attempts made so far, including the one that just failed (≥ 1). */
  readonly attempts: number;
  readonly firstSeenAt: number;
}

export type NextOutboundAttempt =
  | { readonly kind: "retry"; readonly at: number }
  | { readonly kind: "give-up"; readonly reason: string };

const HOUR_MS = 3_600_000;

export function outboundRetryDeadline(policy: OutboundRetryPolicy, firstSeenAt: number): number {
  return firstSeenAt + Math.round(policy.maxAgeHours * HOUR_MS);
}

/** The wait after the `attempts`-th failed attempt, in ms. */
export function outboundRetryDelayMs(policy: OutboundRetryPolicy, attempts: number): number {
  // 2^40 · any positive delay is far past any cap: the exponent stops growing there.
  const doublings = Math.min(Math.max(attempts, 1) - 1, 40);
  return Math.round(Math.min(policy.firstDelaySeconds * 2 ** doublings, policy.maxDelaySeconds) * 1000);
}

export function nextOutboundAttempt(policy: OutboundRetryPolicy, job: OutboundAttemptState, now: number): NextOutboundAttempt {
  const deadline = outboundRetryDeadline(policy, job.firstSeenAt);
  if (now >= deadline) {
    const attempts = job.attempts === 1 ? "1 attempt" : `${job.attempts} attempts`;
    return { kind: "give-up", reason: `retry period of ${formatHours(policy.maxAgeHours)} ended after ${attempts}` };
  }
  return { kind: "retry", at: Math.min(now + outboundRetryDelayMs(policy, job.attempts), deadline) };
}

function formatHours(hours: number): string {
  if (hours % 24 === 0) return hours === 24 ? "1 day" : `${hours / 24} days`;
  return hours === 1 ? "1 hour" : `${hours} hours`;
}
