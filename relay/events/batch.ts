// When events become batches, and how a failed batch is retried. Pure: the caller passes the clock
// (milliseconds since the epoch) and what its store holds; docs/events.md explains the rules to users.
//
// Forming (per EventWebhook and per event_type; `planBatches`):
// 1. A full batch (`maxEvents` events, the oldest first) is formed as soon as that many are waiting.
//    No request ever carries more than `maxEvents`.
// 2. A partial batch (everything still waiting) is formed when `intervalSeconds` have passed since the
//    previous batch of this webhook and type was formed: "every interval", not "an interval after the
//    first event". Under steady load that is one request per interval per type (plus full ones when
//    events come faster than maxEvents per interval), and an event after a quiet spell goes at once
//    instead of always waiting a whole interval.
// 3. A partial batch also waits while an earlier batch of the webhook is not delivered yet (in flight, or
//    waiting for a retry). Batches go out in order, one at a time, so forming small batches behind a
//    failing one would only turn a backlog into many tiny requests; events keep joining the waiting
//    ones, and full batches still form (rule 1), so the age limit below bounds what an outage leaves on
//    disk.
//
// Retrying (`nextBatchAttempt`): a batch is formed once and retried as is (same content, same
// webhook-id), after 1 s, 2 s, 4 s … doubling up to 5 minutes between attempts, until `maxAgeHours`
// after it was formed: the last attempt is made at that deadline, and a failure then gives it up.
// A batch whose turn comes only after its deadline (it waited behind a failing one) is given up without
// an attempt (`batchExpired`).
import type { NextAttempt } from "../queue/schedule.ts";

export interface BatchPolicy {
  readonly intervalSeconds: number;
  readonly maxEvents: number;
}

/** What the store holds for one webhook and event type. */
export interface PendingEvents {
  /** Events waiting to be put into a batch. */
  readonly waiting: number;
  /**
   * When the previous batch of this webhook and type was formed; undefined when there is none (since
   * the relay started, if the caller keeps it in memory: at worst one early partial batch after a restart).
   */
  readonly lastFormedAt?: number | undefined;
  /** An earlier batch of this webhook (either type) is not delivered yet: in flight or waiting for a retry. */
  readonly backlogged: boolean;
}

export interface BatchPlan {
  /** Sizes of the batches to form now, in order; each takes the oldest events still waiting. */
  readonly sizes: number[];
  /**
   * When to plan again if nothing else happens (a new event, a delivered batch, a reload): the moment a
   * partial batch becomes due. `now` when more full batches are waiting than one plan forms. Undefined
   * when only one of those happenings can change the plan.
   */
  readonly nextAt?: number;
}

/** Full batches formed by one plan; the rest next time (`nextAt` = now), so one call stays small. */
export const maxBatchesPerPlan = 100;

export function planBatches(policy: BatchPolicy, pending: PendingEvents, now: number): BatchPlan {
  const { waiting } = pending;
  if (!Number.isSafeInteger(waiting) || waiting < 0) throw new RangeError(`waiting must be a count, got ${waiting}`);
  if (!Number.isSafeInteger(policy.maxEvents) || policy.maxEvents < 1) throw new RangeError(`maxEvents must be at least 1, got ${policy.maxEvents}`);
  const max = policy.maxEvents;
  const full = Math.floor(waiting / max);
  if (full > maxBatchesPerPlan) return { sizes: new Array<number>(maxBatchesPerPlan).fill(max), nextAt: now };

  const sizes = new Array<number>(full).fill(max);
  const rest = waiting - full * max;
  const interval = policy.intervalSeconds * 1000;
  if (rest === 0 || pending.backlogged) return { sizes };
  // Batches formed now restart the interval (and, undelivered, hold the rest until they are delivered).
  if (full > 0) return { sizes, nextAt: now + interval };
  // A clock that jumped back must not hold events for longer than one interval.
  const dueAt = pending.lastFormedAt === undefined ? now : Math.min(pending.lastFormedAt, now) + interval;
  return now >= dueAt ? { sizes: [rest] } : { sizes, nextAt: dueAt };
}

export interface BatchRetryPolicy {
  readonly maxAgeHours: number;
}

export interface BatchAttemptState {
  /** Attempts made so far, including the one that just failed. */
  readonly attempts: number;
  readonly formedAt: number;
}

export const firstRetryDelayMs = 1000;
export const maxRetryDelayMs = 5 * 60_000;
const HOUR_MS = 3_600_000;

/** The wait after the `attempts`-th failed attempt: 1 s, 2 s, 4 s, … at most 5 minutes. */
export function batchRetryDelay(attempts: number): number {
  // Capped before it is computed: 2 ** 1000 would still be a finite number, but a silly one.
  const doublings = Math.min(Math.max(attempts, 1) - 1, 20);
  return Math.min(firstRetryDelayMs * 2 ** doublings, maxRetryDelayMs);
}

/** The last moment an attempt may be made for a batch formed at `formedAt`. */
export function batchRetryDeadline(policy: BatchRetryPolicy, formedAt: number): number {
  return formedAt + policy.maxAgeHours * HOUR_MS;
}

/** Whether a batch not attempted yet is already too old to send (it waited behind a failing one). */
export function batchExpired(policy: BatchRetryPolicy, formedAt: number, now: number): boolean {
  return now > batchRetryDeadline(policy, formedAt);
}

/**
 * What to do after a failed attempt at `now`. `retryAfterMs` is the endpoint's `Retry-After` (429/503)
 * as a delay from now: it can delay the next attempt, never bring it forward, and never past the
 * deadline; a missing, negative or non-numeric value is ignored.
 */
export function nextBatchAttempt(policy: BatchRetryPolicy, batch: BatchAttemptState, now: number, retryAfterMs?: number): NextAttempt {
  const deadline = batchRetryDeadline(policy, batch.formedAt);
  if (now >= deadline) {
    const hours = policy.maxAgeHours === 1 ? "1 hour" : `${policy.maxAgeHours} hours`;
    const attempts = batch.attempts === 1 ? "1 attempt" : `${batch.attempts} attempts`;
    return { kind: "give-up", reason: `not delivered within ${hours} (${attempts})` };
  }
  const regular = now + batchRetryDelay(batch.attempts);
  // `> 0` also rejects NaN; ceil keeps whole milliseconds (the store keeps integers).
  const asked = retryAfterMs !== undefined && retryAfterMs > 0 ? now + Math.ceil(retryAfterMs) : now;
  return { kind: "retry", at: Math.min(Math.max(regular, asked), deadline) };
}
