// The inbound delivery loop: posts each job to its webhook and commits the outcome. A mail just accepted
// is handed over in memory and posted at once (no query, no read back); everything else — retries,
// jobs that found no free slot, the backlog after a restart or a resumption — is claimed from the
// spool, at most as many jobs as there are free slots, so the backlog never sits in memory. Between
// claims the loop sleeps until the spool's next due time.
//
// Which webhooks are served is read from the live configuration at every claim and every attempt, so
// a reload (new endpoint, rotated Secret, suspension) applies to jobs already waiting. Jobs whose
// webhook is suspended, invalid or deleted are held, never dropped: they resume when it comes back. So
// are the jobs of a webhook whose endpoint keeps failing, between probes (delivery-breaker.ts).
import type { InboundWebhookConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { RelayMetrics } from "../metrics/metrics.ts";
import { inboundRetryDeadline, nextInboundAttempt } from "../queue/schedule.ts";
import { DEAD_PRUNE_CHUNK, type InboundJob, type Spool } from "../queue/store.ts";
import { breakerTarget, DeliveryBreaker } from "./delivery-breaker.ts";
import type { InboundPoster } from "./inbound-post.ts";

export interface InboundWorkerOptions {
  readonly spool: Spool;
  /** Parses, renders and posts one job: the PostingThread or an in-loop pipeline (inbound-poster.ts). */
  readonly poster: InboundPoster;
  /** The current valid webhooks by key, suspended ones included. */
  readonly webhooks: () => ReadonlyMap<string, InboundWebhookConfig>;
  readonly serverComposition: string;
  readonly metrics: RelayMetrics;
  readonly logger: Logger;
  /** Posts in flight at once, all webhooks together. */
  readonly concurrency: number;
  /** Posts in flight at once for one webhook: at most the connections one origin gets. */
  readonly perWebhookConcurrency: number;
  readonly now?: () => number;
}

/** How long the record of a given-up delivery is kept (inbound_dead_jobs), and how often it is pruned. */
const DEAD_JOB_RETENTION_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 10 * 60_000;
// Bodies of mail still queued this long after it arrived move from segment files into the database
// (Spool.moveQueuedBodies), looked for this often, this many per transaction.
const MOVE_BODIES_AFTER_MS = 60_000;
const MOVE_BODIES_EVERY_MS = 15_000;
const MOVE_BODIES_CHUNK = 500;

/**
 * Failed posts in a row after which a webhook's endpoint is taken to be down (delivery-breaker.ts): at
 * least this many, and at least one full wave of its posts in flight. An endpoint that is down fails its
 * whole first wave; one that fails a share of its posts almost never fails that many in a row (at 50%
 * failures and 32 in flight: 0.5^32), so a flaky endpoint is not held back.
 */
const BREAKER_MIN_OPEN_AFTER = 5;
/** Jobs of a held webhook given up per transaction once their retry period has ended. */
const EXPIRE_CHUNK = 500;

/** How long a job whose outcome could not be recorded waits before it is tried again. */
const OUTCOME_FAILURE_PAUSE_MS = 30_000;
// A safety net under the spool's own next-due time: the loop looks again at least this often.
const MAX_SLEEP_MS = 30_000;
// Fresh mail waiting in memory for a free slot; past these bounds it waits in the spool instead (and
// is claimed from there), so memory stays bounded however fast mail arrives.
const READY_MAX_JOBS = 1024;
const READY_MAX_BYTES = 64 * 1024 * 1024;

/** A mail just committed to the spool, handed to the worker in memory (see offer). */
export interface AcceptedMail {
  readonly message: InboundJob["message"];
  readonly raw: Buffer;
  readonly jobs: readonly { readonly id: string; readonly webhookKey: string; readonly recipient: string }[];
}

export class InboundDeliveryWorker {
  readonly #o: InboundWorkerOptions;
  readonly #now: () => number;
  readonly #inFlightByWebhook = new Map<string, number>();
  readonly #breaker: DeliveryBreaker;
  /** Webhooks whose expired held jobs are being given up (#giveUpExpired). */
  readonly #expiring = new Set<string>();
  /** Fresh jobs already leased, waiting for a slot, in arrival order. */
  #ready: { job: InboundJob; raw: Buffer }[] = [];
  #readyBytes = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  /**
   * Whether the spool may hold due jobs nobody has claimed. While false the loop makes no query: new
   * mail arrives through offer(), and the timer is armed for the earliest future attempt.
   */
  #backlog = true;
  #lastPrune = 0;
  #lastBodyMove = 0;
  #stopping = false;
  #drained: (() => void) | undefined;

  constructor(options: InboundWorkerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#breaker = new DeliveryBreaker(Math.max(BREAKER_MIN_OPEN_AFTER, options.perWebhookConcurrency));
  }

  /** Looks at the spool again: at start-up and after a configuration change (a resumed webhook). */
  rescan(): void {
    this.#backlog = true;
    this.#pump();
  }

  /**
   * The fast path for a mail just accepted: its jobs start at once from memory (no query, no read
   * back) when their webhook is served and has a free slot; the others wait in the spool.
   */
  offer(mail: AcceptedMail): void {
    if (this.#stopping) return;
    const webhooks = this.#o.webhooks();
    for (const job of mail.jobs) {
      const hook = webhooks.get(job.webhookKey);
      if (
        hook === undefined ||
        hook.suspended ||
        // Its endpoint is taken to be down and held: the mail waits in the spool. (Once the hold is
        // over, fresh mail may be the probe.)
        this.#breaker.allowance(breakerTarget(hook.key, hook.endpoint), this.#now()) === 0 ||
        !this.#o.spool.claim(job.id, job.webhookKey, mail.message.receivedAt)
      ) {
        this.#backlog = true;
        continue;
      }
      const fresh: InboundJob = {
        ...job,
        seq: 0,
        messageId: mail.message.id,
        attempts: 0,
        firstSeenAt: mail.message.receivedAt,
        nextAttemptAt: mail.message.receivedAt,
        lastError: null,
        message: mail.message,
      };
      if (this.#hasRoom(job.webhookKey)) {
        this.#start(fresh, mail.raw);
      } else if (this.#ready.length < READY_MAX_JOBS && this.#readyBytes + mail.raw.byteLength <= READY_MAX_BYTES) {
        this.#ready.push({ job: fresh, raw: mail.raw });
        this.#readyBytes += mail.raw.byteLength;
      } else {
        this.#o.spool.release(job.id);
        this.#backlog = true;
      }
    }
  }

  /**
   * Gives a held webhook's fresh jobs waiting in memory back to the spool: they wait there with the
   * rest, claimable by the probe, instead of holding memory and a lease nobody would end.
   */
  #returnReady(webhookKey: string): void {
    const kept: { job: InboundJob; raw: Buffer }[] = [];
    for (const entry of this.#ready) {
      if (entry.job.webhookKey !== webhookKey) {
        kept.push(entry);
        continue;
      }
      this.#readyBytes -= entry.raw.byteLength;
      this.#o.spool.release(entry.job.id);
      this.#backlog = true;
    }
    this.#ready = kept;
  }

  /** Starts waiting fresh jobs whose webhook has a free slot, oldest first. */
  #startReady(): void {
    for (let i = 0; i < this.#ready.length && this.#inFlight < this.#o.concurrency; ) {
      const entry = this.#ready[i]!;
      if (!this.#hasRoom(entry.job.webhookKey)) {
        i++;
        continue;
      }
      this.#ready.splice(i, 1);
      this.#readyBytes -= entry.raw.byteLength;
      this.#start(entry.job, entry.raw);
    }
  }

  /** Stops claiming work and waits for the posts in flight to finish (each bounded by its timeout). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    for (const { job } of this.#ready) this.#o.spool.release(job.id);
    this.#ready = [];
    this.#readyBytes = 0;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
  }

  #hasRoom(webhookKey: string): boolean {
    return this.#inFlight < this.#o.concurrency && (this.#inFlightByWebhook.get(webhookKey) ?? 0) < this.#cap(webhookKey, this.#now());
  }

  /** Posts of a webhook that may be in flight: its share, or what its endpoint's breaker allows. */
  #cap(webhookKey: string, now: number): number {
    const hook = this.#o.webhooks().get(webhookKey);
    const allowance = hook === undefined ? Infinity : this.#breaker.allowance(breakerTarget(hook.key, hook.endpoint), now);
    return Math.min(this.#o.perWebhookConcurrency, allowance);
  }

  /** Claims due jobs while there are free slots and the spool may have some. */
  #pump(): void {
    try {
      this.#claim();
    } catch (err) {
      // The spool could not be read: look again later rather than crash or stop for good.
      this.#o.logger.error("could not claim inbound deliveries; will look again", { err });
      this.#armTimer(this.#now() + MAX_SLEEP_MS, true);
    }
  }

  #claim(): void {
    if (this.#stopping) return;
    if (this.#now() - this.#lastPrune >= PRUNE_EVERY_MS) this.#pruneDead();
    if (this.#now() - this.#lastBodyMove >= MOVE_BODIES_EVERY_MS) this.#moveQueuedBodies();
    if (!this.#backlog) return;
    const now = this.#now();
    const serving = new Set<string>();
    // The earliest end of a hold on a webhook whose endpoint is taken to be down: it is not served till then.
    let heldUntil = Infinity;
    for (const [key, hook] of this.#o.webhooks()) {
      if (hook.suspended) continue;
      const held = this.#breaker.heldUntil(breakerTarget(key, hook.endpoint), now);
      if (held === undefined) serving.add(key);
      else heldUntil = Math.min(heldUntil, held);
    }

    while (this.#inFlight < this.#o.concurrency) {
      // Claim no more at once than the fullest serving webhook can still take, so no claim can push
      // one webhook past its share (claims come in due order across webhooks); a webhook probing its
      // endpoint takes one post.
      const full = new Set<string>();
      let room = this.#o.perWebhookConcurrency;
      for (const key of serving) {
        const n = this.#inFlightByWebhook.get(key) ?? 0;
        const cap = this.#cap(key, now);
        if (n >= cap) full.add(key);
        else room = Math.min(room, cap - n);
      }
      const limit = Math.min(room, this.#o.concurrency - this.#inFlight);
      const jobs = this.#o.spool.claimDue(this.#now(), limit, { onlyWebhookKeys: serving, excludeWebhookKeys: full });
      for (const job of jobs) this.#start(job);
      if (jobs.length < limit) {
        // Every due job of a webhook with room is claimed; full webhooks get looked at again as
        // their posts finish.
        this.#backlog = full.size > 0;
        break;
      }
    }
    // With a backlog, finishing posts pump again; without one, sleep until the next due attempt.
    if (!this.#backlog) this.#armTimer(Math.min(this.#o.spool.nextDueAt({ onlyWebhookKeys: serving }) ?? Infinity, heldUntil), true);
    else if (heldUntil !== Infinity) this.#armTimer(heldUntil, false);
  }

  /** Wakes the loop at `at` (or earlier if already due sooner); `reset` replaces a later wake-up. */
  #armTimer(at: number, reset: boolean): void {
    if (!reset && at >= this.#wakeAt) return;
    clearTimeout(this.#timer);
    this.#wakeAt = Math.min(at, this.#now() + MAX_SLEEP_MS);
    this.#timer = setTimeout(() => {
      this.#wakeAt = Infinity;
      this.rescan();
    }, Math.max(0, this.#wakeAt - this.#now()));
    this.#timer.unref();
  }

  #start(job: InboundJob, raw?: Buffer): void {
    this.#inFlight++;
    this.#inFlightByWebhook.set(job.webhookKey, (this.#inFlightByWebhook.get(job.webhookKey) ?? 0) + 1);
    // The slot is free once the post is answered; the outcome's commit goes on without holding it.
    this.#attempt(job, raw)
      // Something unexpected (a spool read error, an unusable signing secret): the job goes back to
      // the spool after a pause, neither leaked nor retried in a loop.
      .catch((err: unknown) => {
        this.#o.logger.error("inbound delivery attempt failed; will try again later", { job: job.id, webhook: job.webhookKey, err });
        this.#releaseLater(job.id);
      })
      .finally(() => {
        this.#inFlight--;
        const left = (this.#inFlightByWebhook.get(job.webhookKey) ?? 1) - 1;
        if (left === 0) this.#inFlightByWebhook.delete(job.webhookKey);
        else this.#inFlightByWebhook.set(job.webhookKey, left);
        if (this.#stopping) {
          if (this.#inFlight === 0) this.#drained?.();
          return;
        }
        this.#startReady();
        this.#pump();
      });
  }

  /** Commits an outcome in the background; if the write fails the job returns to the spool as it was. */
  #record(job: InboundJob, write: Promise<boolean>): void {
    write.catch((err: unknown) => {
      // Kept leased for a pause: released at once, the post would be repeated in a loop while the
      // disk stays full (same webhook-id, but a storm all the same).
      this.#o.logger.error("inbound delivery outcome could not be recorded; the job will be tried again later", { job: job.id, webhook: job.webhookKey, err });
      this.#releaseLater(job.id);
    });
  }

  /** Forgets given-up deliveries past their retention, chunk by chunk, off the hot path. */
  #pruneDead(): void {
    this.#lastPrune = this.#now();
    const before = this.#lastPrune - DEAD_JOB_RETENTION_MS;
    const prune = async () => {
      while (!this.#stopping && (await this.#o.spool.pruneDeadJobs(before)) >= DEAD_PRUNE_CHUNK);
    };
    prune().catch((err: unknown) => this.#o.logger.error("given-up inbound deliveries could not be pruned", { err }));
  }

  /** Moves the bodies of mail that stays queued out of the segment files, off the hot path. */
  #moveQueuedBodies(): void {
    this.#lastBodyMove = this.#now();
    const before = this.#lastBodyMove - MOVE_BODIES_AFTER_MS;
    const move = async () => {
      while (!this.#stopping && (await this.#o.spool.moveQueuedBodies(before, MOVE_BODIES_CHUNK)) >= MOVE_BODIES_CHUNK);
    };
    move().catch((err: unknown) => this.#o.logger.error("bodies of queued inbound mail could not be moved into the spool database", { err }));
  }

  /**
   * A held webhook's jobs are not tried between probes, so nothing else would end those whose retry
   * period is over: they are given up here, as their next failed attempt would have done.
   */
  #giveUpExpired(webhookKey: string): void {
    const hook = this.#o.webhooks().get(webhookKey);
    // A webhook suspended or gone meanwhile keeps its deliveries, as always.
    if (hook === undefined || hook.suspended || this.#expiring.has(hook.key)) return;
    // As nextInboundAttempt decides: given up once the next regular attempt would fall past the period
    // (the deadline of a job first seen at 0 is the period's length).
    const firstSeenBefore = this.#now() + hook.retry.intervalSeconds * 1000 - inboundRetryDeadline(hook.retry, 0);
    const days = hook.retry.periodDays === 1 ? "1 day" : `${hook.retry.periodDays} days`;
    const reason = `retry period of ${days} ended while the endpoint kept failing`;
    const expire = async () => {
      // Until a chunk gives up nothing: one holding a job in flight (leased, skipped) gives up the rest.
      let n: number;
      do {
        n = await this.#o.spool.giveUpExpired(hook.key, firstSeenBefore, reason, EXPIRE_CHUNK);
        if (n > 0) {
          this.#o.metrics.gaveUp.inc({ webhook: hook.key, reason: "period_exceeded" }, n);
          this.#o.logger.error("inbound deliveries given up: retry period over while the endpoint kept failing", { webhook: hook.key, jobs: n });
        }
      } while (n > 0 && !this.#stopping);
    };
    this.#expiring.add(hook.key);
    expire()
      .catch((err: unknown) => this.#o.logger.error("expired inbound deliveries could not be given up", { webhook: hook.key, err }))
      .finally(() => this.#expiring.delete(hook.key));
  }

  #releaseLater(jobId: string): void {
    setTimeout(() => {
      this.#o.spool.release(jobId);
      this.rescan();
    }, OUTCOME_FAILURE_PAUSE_MS).unref();
  }

  async #attempt(job: InboundJob, preloaded?: Buffer): Promise<void> {
    const { spool, metrics, logger } = this.#o;
    const hook = this.#o.webhooks().get(job.webhookKey);
    if (hook === undefined || hook.suspended) {
      spool.release(job.id);
      this.#backlog = true;
      return;
    }
    let raw = preloaded;
    if (raw === undefined) {
      const read = spool.readMessage(job.messageId);
      if (read.kind === "quarantined") {
        metrics.quarantined.inc();
        logger.error("inbound mail unreadable, moved to quarantine", { message: job.messageId, reason: read.reason, jobs: read.jobIds.length });
        return;
      }
      raw = read.raw;
    }

    const result = await this.#o.poster.post({
      jobId: job.id,
      messageId: job.messageId,
      raw,
      format: hook.contentType,
      target: { endpoint: hook.endpoint, timeoutSeconds: hook.timeoutSeconds, auth: hook.auth },
      context: {
        serverComposition: this.#o.serverComposition,
        filter: hook.name,
        envelopeFrom: job.message.envelopeFrom,
        envelopeTo: job.recipient,
        apiKey: hook.auth.apiKey,
      },
      nowMs: this.#now(),
    });
    if (result.kind === "unparseable") {
      this.#record(job, spool.giveUp(job.id, `mail could not be parsed: ${result.reason}`));
      metrics.gaveUp.inc({ webhook: job.webhookKey, reason: "unparseable" });
      logger.error("inbound mail could not be parsed; delivery given up", { job: job.id, webhook: job.webhookKey, err: result.reason });
      return;
    }
    const { outcome } = result;
    const target = breakerTarget(hook.key, hook.endpoint);
    if (outcome.classification.kind !== "retry") this.#breaker.succeeded(target);
    metrics.postDuration.observe({ webhook: hook.key }, outcome.durationMs / 1000);
    const attempts = job.attempts + 1;
    const fields = { job: job.id, webhook: hook.key, attempts, status: outcome.status };

    switch (outcome.classification.kind) {
      case "ok":
        this.#record(job, spool.delivered(job.id));
        metrics.posts.inc({ webhook: hook.key, outcome: "success" });
        metrics.deliveryLatency.observe({ webhook: hook.key }, (this.#now() - job.firstSeenAt) / 1000);
        logger.debug("inbound mail posted", fields);
        return;
      case "gone":
        this.#record(job, spool.giveUp(job.id, "endpoint answered 410 Gone"));
        metrics.posts.inc({ webhook: hook.key, outcome: "gone" });
        metrics.gaveUp.inc({ webhook: hook.key, reason: "gone" });
        logger.warn("endpoint answered 410 Gone; delivery stopped", fields);
        return;
      case "retry": {
        const { reason, retryAfterMs } = outcome.classification;
        const next = nextInboundAttempt(hook.retry, { attempts, firstSeenAt: job.firstSeenAt }, this.#now(), retryAfterMs);
        const retryAt = next.kind === "retry" ? next.at : this.#now() + hook.retry.intervalSeconds * 1000;
        const held = this.#breaker.failed(target, retryAt);
        if (held) this.#returnReady(hook.key);
        if (next.kind === "retry") {
          // The wake-up is armed once the reschedule has committed: until then the job is leased, and
          // a rescan meanwhile (a reload) would re-arm the timer without it, for up to MAX_SLEEP_MS.
          const rescheduled = spool.reschedule(job.id, { at: next.at, attempts, lastError: reason });
          this.#record(job, rescheduled);
          rescheduled.then((found) => found && this.#armTimer(next.at, false), () => undefined);
          // After this outcome (and every one queued before it) has committed, so that no job is still
          // leased for an outcome already decided.
          if (held) rescheduled.finally(() => this.#giveUpExpired(hook.key)).catch(() => undefined);
          metrics.posts.inc({ webhook: hook.key, outcome: "retry" });
          logger.warn("inbound post failed; will retry", { ...fields, reason, retryAt: new Date(next.at).toISOString() });
        } else {
          const givenUp = spool.giveUp(job.id, `${reason}; ${next.reason}`);
          this.#record(job, givenUp);
          if (held) givenUp.finally(() => this.#giveUpExpired(hook.key)).catch(() => undefined);
          metrics.posts.inc({ webhook: hook.key, outcome: "gave_up" });
          metrics.gaveUp.inc({ webhook: hook.key, reason: "period_exceeded" });
          logger.error("inbound post failed; retry period over, delivery given up", { ...fields, reason: `${reason}; ${next.reason}` });
        }
        return;
      }
    }
  }
}
