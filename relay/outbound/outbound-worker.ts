// The outbound delivery loop: claims due jobs from the outbound spool (at most as many as there are
// free slots, so the backlog never sits in memory), delivers each to its recipient's destination with
// OutboundDelivery, and commits the outcome with its events: delivered → `succeeded`; a temporary
// failure → `deferred` and the next attempt on the retry schedule, or, when the schedule has run out,
// `failed` + `bounced` (error status 3); a permanent failure → `failed` + `bounced`.
// The concurrency bound here is global; the per-destination limit lives in OutboundDelivery's pool,
// where a delivery waits at most connectSeconds for a busy destination before it is deferred.
import { performance } from "node:perf_hooks";
import type { Logger } from "../log.ts";
import type { RelayMetrics } from "../metrics/metrics.ts";
import { SENT_PRUNE_CHUNK, type OutboundJob, type OutboundSpool } from "../queue/outbound-store.ts";
import { retryTimeout, type DeliveryResult } from "./classify.ts";
import { nextOutboundAttempt, type OutboundRetryPolicy } from "./retry-schedule.ts";
import type { DeliveryRequest } from "./smtp-deliver.ts";
import { returnPathFor, type VerpOptions } from "./verp.ts";

/** What the worker needs of OutboundDelivery. */
export interface Deliverer {
  deliver(request: DeliveryRequest): Promise<DeliveryResult>;
}

export interface OutboundWorkerOptions {
  readonly spool: OutboundSpool;
  readonly delivery: Deliverer;
  /** outbound.retry of relay.yaml. */
  readonly retry: OutboundRetryPolicy;
  /** The VERP return path; `bounceDomain: null` keeps the sender's own. */
  readonly returnPath: VerpOptions;
  /** Deliveries in flight at once, all destinations together. */
  readonly concurrency: number;
  /** Suppression of recipients that hard-bounced (outbound.suppression); off when absent. */
  readonly suppression?: { readonly enabled: boolean; readonly days: number };
  readonly metrics: RelayMetrics;
  readonly logger: Logger;
  /** How long delivered jobs are remembered for bounce mails (see OutboundSpool.pruneSent). */
  readonly sentRetentionMs?: number;
  readonly now?: () => number;
}

// A safety net under the spool's own next-due time: the loop looks again at least this often.
/** How long a job whose outcome could not be recorded waits before it is tried again. */
const OUTCOME_FAILURE_PAUSE_MS = 30_000;
const MAX_SLEEP_MS = 30_000;
// Forgetting delivered jobs past their retention runs at most this often.
const PRUNE_EVERY_MS = 60_000;

export class OutboundDeliveryWorker {
  readonly #o: OutboundWorkerOptions;
  readonly #now: () => number;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires, on the monotonic clock (performance.now). */
  #wakeAt = Infinity;
  /** Whether due jobs may be waiting unclaimed; while false the loop sleeps until the next due time. */
  #backlog = true;
  #lastPrune = -Infinity;
  #stopping = false;

  constructor(options: OutboundWorkerOptions) {
    if (!Number.isSafeInteger(options.concurrency) || options.concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Looks at the spool again: at start-up and after each accept. */
  wake(): void {
    this.#backlog = true;
    this.#pump();
  }

  /** Stops claiming; waits for the deliveries in flight (each bounded by the SMTP timeouts). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#inFlight);
  }

  #pump(): void {
    try {
      this.#claim();
    } catch (err) {
      // The spool could not be read: look again later rather than crash or stop for good.
      this.#o.logger.error("could not claim outbound deliveries; will look again", { err });
      this.#backlog = true;
      this.#arm(this.#now() + MAX_SLEEP_MS, true);
    }
  }

  #claim(): void {
    if (this.#stopping) return;
    const now = this.#now();
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) this.#prune(now);
    if (!this.#backlog) return;
    while (this.#inFlight.size < this.#o.concurrency) {
      const limit = this.#o.concurrency - this.#inFlight.size;
      const jobs = this.#o.spool.claimDue(now, limit);
      for (const job of jobs) this.#start(job);
      if (jobs.length < limit) {
        this.#backlog = false;
        break;
      }
    }
    if (!this.#backlog) this.#arm(this.#o.spool.nextDueAt() ?? Infinity, true);
  }

  #prune(now: number): void {
    this.#lastPrune = now;
    const suppression = this.#o.suppression;
    if (suppression?.enabled) {
      this.#o.spool.pruneSuppressed(now - suppression.days * 86_400_000).catch((err: unknown) => this.#o.logger.error("suppressions could not be pruned", { err }));
    }
    // In chunks (each its own short transaction) until a chunk comes back short: the table cannot
    // outgrow pruning however many mails a minute are delivered.
    const prune = async () => {
      while (!this.#stopping && (await this.#o.spool.pruneSent(this.#o.sentRetentionMs)) >= SENT_PRUNE_CHUNK);
    };
    prune().catch((err: unknown) => this.#o.logger.error("delivered outbound jobs could not be pruned", { err }));
  }

  /**
   * Wakes at `at` (the worker's clock); `reset` replaces a later wake-up. Compared on the monotonic
   * clock, so a wall clock that jumps cannot leave a far wake-up in place of a near one.
   */
  #arm(at: number, reset: boolean): void {
    const delay = Math.min(Math.max(0, at - this.#now()), MAX_SLEEP_MS);
    const due = performance.now() + delay;
    if (!reset && due >= this.#wakeAt) return;
    clearTimeout(this.#timer);
    this.#wakeAt = due;
    this.#timer = setTimeout(() => {
      this.#wakeAt = Infinity;
      this.wake();
    }, delay);
    this.#timer.unref();
  }

  #start(job: OutboundJob): void {
    const attempt = this.#attempt(job)
      .catch((err: unknown) => {
        // The outcome could not be committed (disk full, I/O error): the job stays as it was. It is
        // kept leased for a pause before it may be claimed again, or a delivered mail would be sent
        // to its recipient again at once, in a loop, for as long as the disk stays full.
        this.#o.logger.error("outbound delivery outcome could not be recorded; the job will be tried again later", { job: job.id, err });
        setTimeout(() => {
          this.#o.spool.release(job.id);
          this.wake();
        }, OUTCOME_FAILURE_PAUSE_MS).unref();
      })
      .finally(() => {
        this.#inFlight.delete(attempt);
        this.#backlog = true;
        this.#pump();
      });
    this.#inFlight.add(attempt);
  }

  async #attempt(job: OutboundJob): Promise<void> {
    const { spool, metrics, logger } = this.#o;
    const read = spool.readMessage(job.messageId);
    if (read.kind === "quarantined") {
      metrics.quarantined.inc();
      metrics.outboundDeliveries.inc({ outcome: "failed" }, read.jobIds.length);
      logger.error("outbound mail unreadable, moved to quarantine; its recipients failed", { message: job.messageId, reason: read.reason, jobs: read.jobIds.length });
      return;
    }
    const suppression = this.#o.suppression;
    if (suppression?.enabled && spool.isSuppressed(job.recipient, this.#now() - suppression.days * 86_400_000)) {
      await spool.failed(job.id, { reason: `550 5.1.1 not sent: ${job.recipient} hard-bounced before and is suppressed`, errorStatus: 10, enhancedStatus: "5.1.1" });
      metrics.outboundDeliveries.inc({ outcome: "failed" });
      logger.info("outbound mail not sent: recipient suppressed", { job: job.id, message: job.messageId });
      return;
    }
    const from = returnPathFor(this.#o.returnPath, job.message.envelopeFrom, job.id);
    // The spooled mail carries the relay's Received header already (the listener prepends it).
    const result = await this.#o.delivery.deliver({ from, to: job.recipient, message: read.raw, trace: null });
    const attempts = job.attempts + 1;
    const fields = { job: job.id, message: job.messageId, attempts };
    switch (result.kind) {
      case "delivered":
        await spool.delivered(job.id, { senderIp: result.senderIp, response: result.response });
        metrics.outboundDeliveries.inc({ outcome: "delivered" });
        logger.debug("outbound mail delivered", { ...fields, host: result.host });
        return;
      case "deferred": {
        const next = nextOutboundAttempt(this.#o.retry, { attempts, firstSeenAt: job.firstSeenAt }, this.#now());
        if (next.kind === "retry") {
          await spool.deferred(job.id, { at: next.at, attempts, reason: result.reason });
          this.#arm(next.at, false);
          metrics.outboundDeliveries.inc({ outcome: "deferred" });
          logger.info("outbound mail deferred", { ...fields, reason: result.reason, retryAt: new Date(next.at).toISOString() });
          return;
        }
        const failure = retryTimeout(result);
        await spool.failed(job.id, { reason: failure.response, errorStatus: failure.errorStatus, enhancedStatus: failure.enhancedStatus ?? "" });
        metrics.outboundDeliveries.inc({ outcome: "failed" });
        logger.warn("outbound mail failed: retry period over", { ...fields, reason: `${result.reason}; ${next.reason}` });
        return;
      }
      case "failed":
        await spool.failed(job.id, { reason: result.response, errorStatus: result.errorStatus, enhancedStatus: result.enhancedStatus ?? "" });
        metrics.outboundDeliveries.inc({ outcome: "failed" });
        logger.info("outbound mail failed", { ...fields, reason: result.response, errorStatus: result.errorStatus, host: result.host });
        return;
    }
  }
}
