// Delivers event batches to EventWebhooks. Per webhook and event type it forms batches when
// planBatches says so (batch.ts: a full batch at once, a partial one every interval, none behind an
// undelivered batch); per webhook it sends ONE batch at a time, oldest first, and retries it as is
// (same body, same webhook-id) on nextBatchAttempt's schedule until delivered or given up.
//
// Memory stays flat however long an endpoint is down: the backlog is rows in the outbox; the worker
// holds per webhook a formed-at time per type, whether a post is in flight, and one batch's events
// while it is being sent. The webhooks are read through a getter at every pass, so a reload (new
// endpoint, rotated Secret, new batch policy, a webhook added or removed) applies to batches already
// formed.
import { performance } from "node:perf_hooks";
import type { EventWebhookConfig } from "../config/schema.ts";
import type { WebhookHttpClient } from "../deliver/http-client.ts";
import { postSigned } from "../deliver/signed-post.ts";
import type { Logger } from "../log.ts";
import type { RelayMetrics } from "../metrics/metrics.ts";
import { batchExpired, nextBatchAttempt, planBatches } from "./batch.ts";
import { eventTypes, type EventOutbox, type StoredBatch } from "./outbox.ts";
import { renderEvents, type EventBody } from "./render.ts";
import type { EventType } from "./types.ts";

export interface EventWorkerOptions {
  readonly outbox: EventOutbox;
  /** The current client (replaced when endpoint settings change). */
  readonly client: () => WebhookHttpClient;
  /** The current valid EventWebhooks. A new array (or map) after each reload. */
  readonly webhooks: () => readonly EventWebhookConfig[];
  readonly serverComposition: string;
  readonly metrics: RelayMetrics;
  readonly logger: Logger;
  readonly now?: () => number;
}

// A safety net under the computed wake-up times: the worker looks again at least this often.
const MAX_SLEEP_MS = 30_000;
// New events arriving in a burst are looked at once per this delay, not once per event.
const WAKE_COALESCE_MS = 5;
// Pruning and the grace-period check of vanished webhooks run at most this often.
const MAINTENANCE_EVERY_MS = 10_000;
// After an unexpected failure (the outbox could not be written), before trying that webhook again.
const ERROR_PAUSE_MS = 1000;

export class EventDeliveryWorker {
  readonly #o: EventWorkerOptions;
  readonly #now: () => number;
  /** When the previous batch of a webhook and type was formed (key: "type webhook"). */
  readonly #lastFormedAt = new Map<string, number>();
  readonly #inFlight = new Map<string, Promise<void>>();
  #synced: readonly EventWebhookConfig[] | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires, on the monotonic clock (performance.now). */
  #wakeAt = Infinity;
  #lastMaintenance = -Infinity;
  #pruning = false;
  #stopping = false;

  constructor(options: EventWorkerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Looks at the outbox soon: after events were recorded, at start-up, after a reload. A changed
   * webhook set is synced at once, so a webhook added by a reload receives every event recorded
   * after this call.
   */
  wake(): void {
    if (this.#stopping) return;
    const hooks = this.#o.webhooks();
    if (hooks !== this.#synced) this.#maintain(hooks, this.#now());
    this.#arm(this.#now() + WAKE_COALESCE_MS);
  }

  /** Stops forming and sending; waits for the posts in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#inFlight.values());
  }

  /** One pass: sync cursors on a reload, form what is due, start what may be sent, sleep until next. */
  #run(): void {
    if (this.#stopping) return;
    const { outbox, logger } = this.#o;
    const hooks = this.#o.webhooks();
    const now = this.#now();
    if (hooks !== this.#synced || now - this.#lastMaintenance >= MAINTENANCE_EVERY_MS) this.#maintain(hooks, now);
    let wakeAt = now + MAX_SLEEP_MS;
    for (const hook of hooks) {
      try {
        for (const type of eventTypes) {
          if (!hook.events[type]) continue;
          const next = this.#form(hook, type, now);
          if (next !== undefined) wakeAt = Math.min(wakeAt, next);
        }
        if (this.#inFlight.has(hook.key)) continue;
        const head = outbox.headBatch(hook.key);
        if (head === undefined) continue;
        if (head.nextAttemptAt <= now) this.#send(hook.key, head);
        else wakeAt = Math.min(wakeAt, head.nextAttemptAt);
      } catch (err) {
        // One webhook's trouble (a failed transaction) must not stop the others; look again soon.
        logger.error("event batches could not be formed or read; will try again", { webhook: hook.key, err });
        wakeAt = Math.min(wakeAt, now + ERROR_PAUSE_MS);
      }
    }
    this.#arm(wakeAt);
  }

  /** Forms the batches due for one webhook and type; returns when to plan again, if it must. */
  #form(hook: EventWebhookConfig, type: EventType, now: number): number | undefined {
    const { outbox, metrics } = this.#o;
    const stateKey = `${type} ${hook.key}`;
    const plan = planBatches(
      hook.batch,
      {
        waiting: outbox.waiting(hook.key, type),
        lastFormedAt: this.#lastFormedAt.get(stateKey),
        backlogged: this.#inFlight.has(hook.key) || outbox.headBatch(hook.key) !== undefined,
      },
      now,
    );
    for (const size of plan.sizes) {
      const batch = outbox.formBatch(hook.key, type, size);
      if (batch === undefined) break;
      this.#lastFormedAt.set(stateKey, now);
      metrics.eventBatchSize.observe({ webhook: hook.key }, batch.count);
    }
    return plan.nextAt;
  }

  /** Syncs cursors with the configuration (counting what a long-gone webhook leaves) and prunes. */
  #maintain(hooks: readonly EventWebhookConfig[], now: number): void {
    const { outbox, metrics, logger } = this.#o;
    this.#lastMaintenance = now;
    try {
      for (const dropped of outbox.syncWebhooks(hooks)) {
        metrics.eventsGivenUp.inc({ webhook: dropped.webhookKey, reason: "webhook_removed" }, dropped.events);
        logger.warn("event webhook gone past its grace period; its undelivered events are dropped", { ...dropped });
      }
      this.#synced = hooks;
      const current = new Set(hooks.map((h) => h.key));
      for (const key of this.#lastFormedAt.keys()) if (!current.has(key.slice(key.indexOf(" ") + 1))) this.#lastFormedAt.delete(key);
    } catch (err) {
      logger.error("event webhook cursors could not be synced; will try again", { err });
    }
    this.#prune();
  }

  #prune(): void {
    if (this.#pruning) return;
    this.#pruning = true;
    const loop = async (): Promise<void> => {
      // Chunked so one transaction never holds the database long; full chunks go on at once.
      while (!this.#stopping && (await this.#o.outbox.prune()) > 0);
    };
    loop()
      .catch((err: unknown) => this.#o.logger.error("delivered events could not be pruned; will try again", { err }))
      .finally(() => (this.#pruning = false));
  }

  /**
   * Wakes at `at` (the worker's clock) unless an earlier wake-up is armed. Compared on the monotonic
   * clock, so a wall clock that jumps cannot leave a far wake-up in place of a near one.
   */
  #arm(at: number): void {
    if (this.#stopping) return;
    const delay = Math.max(0, at - this.#now());
    const due = performance.now() + delay;
    if (due >= this.#wakeAt) return;
    clearTimeout(this.#timer);
    this.#wakeAt = due;
    this.#timer = setTimeout(() => {
      this.#wakeAt = Infinity;
      this.#run();
    }, delay);
    this.#timer.unref();
  }

  #send(webhookKey: string, batch: StoredBatch): void {
    let pause = 0;
    const attempt = this.#attempt(webhookKey, batch)
      .catch((err: unknown) => {
        // The outcome was not recorded (a failed write): the batch is tried again, after a pause.
        pause = ERROR_PAUSE_MS;
        this.#o.logger.error("event batch attempt failed; will try again", { webhook: webhookKey, batch: batch.id, err });
      })
      .finally(() => {
        this.#inFlight.delete(webhookKey);
        // The next batch of this webhook (or the partial one held behind this one) may go now.
        this.#arm(this.#now() + pause);
      });
    this.#inFlight.set(webhookKey, attempt);
  }

  async #attempt(webhookKey: string, batch: StoredBatch): Promise<void> {
    const { outbox, metrics, logger } = this.#o;
    const hook = this.#o.webhooks().find((h) => h.key === webhookKey);
    if (hook === undefined) return;
    const now = this.#now();
    if (batch.attempts === 0 && batchExpired(hook.retry, batch.formedAt, now)) {
      await this.#giveUp(hook, batch, `not attempted within ${hook.retry.maxAgeHours} hours (waited behind failing batches)`);
      return;
    }
    let rendered: EventBody;
    try {
      rendered = renderEvents(
        { version: hook.version, contentType: hook.contentType, timeZone: hook.timeZone, serverComposition: this.#o.serverComposition, apiKey: hook.auth.apiKey },
        outbox.readBatch(batch),
      );
    } catch (err) {
      // Nothing a retry could fix (an impossible event time, a damaged batch): give it up, visibly.
      await this.#giveUp(hook, batch, `batch could not be rendered: ${(err as Error).message}`);
      return;
    }
    const outcome = await postSigned(this.#o.client(), hook, batch.id, rendered, this.#now());
    metrics.eventBatchDuration.observe({ webhook: hook.key }, outcome.durationMs / 1000);
    const attempts = batch.attempts + 1;
    const fields = { webhook: hook.key, batch: batch.id, events: batch.count, attempts, status: outcome.status };
    if (outcome.classification.kind === "ok") {
      await outbox.delivered(batch.id);
      metrics.eventBatches.inc({ webhook: hook.key, outcome: "delivered" });
      logger.debug("event batch delivered", fields);
      return;
    }
    // Unlike inbound posts, 410 Gone is no reason to stop: docs/events.md retries every failure.
    const reason = outcome.classification.kind === "gone" ? "HTTP 410" : outcome.classification.reason;
    const retryAfterMs = outcome.classification.kind === "retry" ? outcome.classification.retryAfterMs : undefined;
    const next = nextBatchAttempt(hook.retry, { attempts, formedAt: batch.formedAt }, this.#now(), retryAfterMs);
    if (next.kind === "retry") {
      await outbox.reschedule(batch.id, { at: next.at, attempts, lastError: reason });
      metrics.eventBatches.inc({ webhook: hook.key, outcome: "retry" });
      logger.warn("event batch not delivered; will retry", { ...fields, reason, retryAt: new Date(next.at).toISOString() });
    } else {
      await this.#giveUp(hook, batch, `${reason}; ${next.reason}`);
    }
  }

  async #giveUp(hook: EventWebhookConfig, batch: StoredBatch, reason: string): Promise<void> {
    const { metrics, logger } = this.#o;
    await this.#o.outbox.giveUp(batch.id, reason);
    metrics.eventBatches.inc({ webhook: hook.key, outcome: "gave_up" });
    metrics.eventBatchesGivenUp.inc({ webhook: hook.key });
    metrics.eventsGivenUp.inc({ webhook: hook.key, reason: "expired" }, batch.count);
    logger.error("event batch given up", { webhook: hook.key, batch: batch.id, events: batch.count, attempts: batch.attempts, reason });
  }
}
