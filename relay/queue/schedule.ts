// The inbound retry schedule (SPEC "Status codes and retry"): a post that failed is retried every
// `intervalSeconds` until `periodDays` after the job was first seen, then given up.
// Pure: the caller passes the clock; times are milliseconds since the epoch.
//
// Rules, in order:
// 1. The deadline is `firstSeenAt + periodDays`. It is recomputed from the current policy on every
//    failure, so a reload that shortens or lengthens the period applies to jobs already waiting.
// 2. The regular next attempt is `now + intervalSeconds`. If that falls after the deadline, give up:
//    the period has passed. (An attempt exactly at the deadline is still made.)
// 3. `Retry-After` (the caller passes it only for 429/503) can only delay the next attempt, never bring
//    it forward: the configured interval is the least spacing between posts, so a `Retry-After: 0` from a
//    struggling endpoint cannot turn the relay into a tight loop.
// 4. "Honoured within the schedule": a `Retry-After` reaching past the deadline is cut to the deadline,
//    where one last attempt is made. It never makes the relay give up earlier than rule 2 would.

export interface InboundRetryPolicy {
  readonly intervalSeconds: number;
  readonly periodDays: number;
}

export interface InboundAttemptState {
  /** Attempts made so far, including the one that just failed. */
  readonly attempts: number;
  readonly firstSeenAt: number;
}

export type NextAttempt =
  | { readonly kind: "retry"; readonly at: number }
  | { readonly kind: "give-up"; readonly reason: string };

const DAY_MS = 86_400_000;

/** The last moment an attempt may be made for a job first seen at `firstSeenAt`. */
export function inboundRetryDeadline(policy: InboundRetryPolicy, firstSeenAt: number): number {
  return firstSeenAt + policy.periodDays * DAY_MS;
}

/**
 * What to do after a failed attempt at `now`. `retryAfterMs` is the endpoint's `Retry-After`, already
 * converted to a delay from `now`; a missing, negative or non-numeric value is ignored.
 */
export function nextInboundAttempt(
  policy: InboundRetryPolicy,
  job: InboundAttemptState,
  now: number,
  retryAfterMs?: number,
): NextAttempt {
  const deadline = inboundRetryDeadline(policy, job.firstSeenAt);
  const regular = now + policy.intervalSeconds * 1000;
  if (regular > deadline) {
    const days = policy.periodDays === 1 ? "1 day" : `${policy.periodDays} days`;
    const attempts = job.attempts === 1 ? "1 attempt" : `${job.attempts} attempts`;
    return { kind: "give-up", reason: `retry period of ${days} ended after ${attempts}` };
  }
  // `> 0` also rejects NaN; ceil keeps whole milliseconds (the store keeps integers).
  const asked = retryAfterMs !== undefined && retryAfterMs > 0 ? now + Math.ceil(retryAfterMs) : now;
  return { kind: "retry", at: Math.min(Math.max(regular, asked), deadline) };
}
