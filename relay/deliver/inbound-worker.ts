// The inbound delivery loop: claims due jobs from the spool, posts each to its webhook and commits the
// outcome. It never holds the backlog in memory: it asks the spool for at most as many jobs as it has
// free slots, and sleeps until the spool's next due time (or until woken by a new accept).
//
// Which webhooks are served is read from the live configuration at every claim and every attempt, so
// a reload (new endpoint, rotated Secret, suspension) applies to jobs already waiting. Jobs whose
// webhook is suspended, invalid or deleted are held, never dropped: they resume when it comes back.
import { simpleParser, type ParsedMail } from "mailparser";
import type { InboundWebhookConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { RelayMetrics } from "../metrics/metrics.ts";
import { nextInboundAttempt } from "../queue/schedule.ts";
import type { InboundJob, Spool } from "../queue/store.ts";
import type { WebhookHttpClient } from "./http-client.ts";
import { renderInboundBody } from "./inbound-body.ts";
import { webhookHeaders } from "./signature.ts";

export interface InboundWorkerOptions {
  readonly spool: Spool;
  /** The current client (replaced when endpoint settings change). */
  readonly client: () => WebhookHttpClient;
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

// A safety net under the spool's own next-due time: the loop looks again at least this often.
const MAX_SLEEP_MS = 30_000;

export class InboundDeliveryWorker {
  readonly #o: InboundWorkerOptions;
  readonly #now: () => number;
  readonly #inFlightByWebhook = new Map<string, number>();
  readonly #parsed = new Map<string, { mail: Promise<ParsedMail>; users: number }>();
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  #drained: (() => void) | undefined;

  constructor(options: InboundWorkerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Looks for due work now: after an accept, a reload, or a finished attempt. */
  wake(): void {
    if (this.#stopping) return;
    const webhooks = this.#o.webhooks();
    const serving = new Set<string>();
    for (const [key, hook] of webhooks) if (!hook.suspended) serving.add(key);

    while (this.#inFlight < this.#o.concurrency) {
      // Claim no more at once than the fullest serving webhook can still take, so no claim can push
      // one webhook past its share (claims come in due order across webhooks).
      const full = new Set<string>();
      let room = this.#o.perWebhookConcurrency;
      for (const [key, n] of this.#inFlightByWebhook) {
        if (n >= this.#o.perWebhookConcurrency) full.add(key);
        else if (serving.has(key)) room = Math.min(room, this.#o.perWebhookConcurrency - n);
      }
      const limit = Math.min(room, this.#o.concurrency - this.#inFlight);
      const jobs = this.#o.spool.claimDue(this.#now(), limit, { onlyWebhookKeys: serving, excludeWebhookKeys: full });
      for (const job of jobs) this.#start(job);
      if (jobs.length < limit) break;
    }
    this.#sleep(serving);
  }

  /** Stops claiming work and waits for the posts in flight to finish (each bounded by its timeout). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
  }

  #sleep(serving: ReadonlySet<string>): void {
    clearTimeout(this.#timer);
    const next = this.#o.spool.nextDueAt({ onlyWebhookKeys: serving });
    const delay = next === undefined ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, next - this.#now()));
    this.#timer = setTimeout(() => this.wake(), delay);
    this.#timer.unref();
  }

  #start(job: InboundJob): void {
    this.#inFlight++;
    this.#inFlightByWebhook.set(job.webhookKey, (this.#inFlightByWebhook.get(job.webhookKey) ?? 0) + 1);
    this.#attempt(job)
      .catch((err: unknown) => {
        // Only a failed spool write lands here; the job stays claimed-then-released for another try.
        this.#o.logger.error("inbound delivery attempt could not be recorded", { job: job.id, webhook: job.webhookKey, err });
        this.#o.spool.release(job.id);
      })
      .finally(() => {
        this.#inFlight--;
        const left = (this.#inFlightByWebhook.get(job.webhookKey) ?? 1) - 1;
        if (left === 0) this.#inFlightByWebhook.delete(job.webhookKey);
        else this.#inFlightByWebhook.set(job.webhookKey, left);
        if (this.#stopping && this.#inFlight === 0) this.#drained?.();
        else this.wake();
      });
  }

  async #attempt(job: InboundJob): Promise<void> {
    const { spool, metrics, logger } = this.#o;
    const hook = this.#o.webhooks().get(job.webhookKey);
    if (hook === undefined || hook.suspended) {
      spool.release(job.id);
      return;
    }
    const read = spool.readMessage(job.messageId);
    if (read.kind === "quarantined") {
      metrics.quarantined.inc();
      logger.error("inbound mail unreadable, moved to quarantine", { message: job.messageId, reason: read.reason, jobs: read.jobIds.length });
      return;
    }

    let mail: ParsedMail;
    try {
      mail = await this.#parse(job.messageId, read.raw);
    } catch (err) {
      await spool.giveUp(job.id, `mail could not be parsed: ${(err as Error).message}`);
      metrics.gaveUp.inc({ webhook: job.webhookKey, reason: "unparseable" });
      logger.error("inbound mail could not be parsed; delivery given up", { job: job.id, webhook: job.webhookKey, err });
      return;
    }

    const { contentType, body } = renderInboundBody(hook.contentType, mail, {
      serverComposition: this.#o.serverComposition,
      filter: hook.name,
      envelopeFrom: job.message.envelopeFrom,
      envelopeTo: job.recipient,
      apiKey: hook.auth.apiKey,
    });
    const outcome = await this.#o.client().post({
      url: hook.endpoint,
      headers: {
        "content-type": contentType,
        ...webhookHeaders({ id: job.id, timestampSeconds: Math.floor(this.#now() / 1000), body, secrets: hook.auth.signingSecrets }),
      },
      body,
      timeoutMs: hook.timeoutSeconds * 1000,
      basicAuth: hook.auth.basic,
    });
    metrics.postDuration.observe({ webhook: hook.key }, outcome.durationMs / 1000);
    const attempts = job.attempts + 1;
    const fields = { job: job.id, webhook: hook.key, attempts, status: outcome.status };

    switch (outcome.classification.kind) {
      case "ok":
        await spool.delivered(job.id);
        metrics.posts.inc({ webhook: hook.key, outcome: "success" });
        metrics.deliveryLatency.observe({ webhook: hook.key }, (this.#now() - job.firstSeenAt) / 1000);
        logger.debug("inbound mail posted", fields);
        return;
      case "gone":
        await spool.giveUp(job.id, "endpoint answered 410 Gone");
        metrics.posts.inc({ webhook: hook.key, outcome: "gone" });
        metrics.gaveUp.inc({ webhook: hook.key, reason: "gone" });
        logger.warn("endpoint answered 410 Gone; delivery stopped", fields);
        return;
      case "retry": {
        const { reason, retryAfterMs } = outcome.classification;
        const next = nextInboundAttempt(hook.retry, { attempts, firstSeenAt: job.firstSeenAt }, this.#now(), retryAfterMs);
        if (next.kind === "retry") {
          await spool.reschedule(job.id, { at: next.at, attempts, lastError: reason });
          metrics.posts.inc({ webhook: hook.key, outcome: "retry" });
          logger.warn("inbound post failed; will retry", { ...fields, reason, retryAt: new Date(next.at).toISOString() });
        } else {
          await spool.giveUp(job.id, `${reason}; ${next.reason}`);
          metrics.posts.inc({ webhook: hook.key, outcome: "gave_up" });
          metrics.gaveUp.inc({ webhook: hook.key, reason: "period_exceeded" });
          logger.error("inbound post failed; retry period over, delivery given up", { ...fields, reason: `${reason}; ${next.reason}` });
        }
        return;
      }
    }
  }

  /** Parses a mail once however many of its jobs are in flight together (fan-out, several recipients). */
  async #parse(messageId: string, raw: Buffer): Promise<ParsedMail> {
    let entry = this.#parsed.get(messageId);
    if (entry === undefined) {
      entry = { mail: simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true }), users: 0 };
      this.#parsed.set(messageId, entry);
    }
    entry.users++;
    try {
      return await entry.mail;
    } finally {
      if (--entry.users === 0) this.#parsed.delete(messageId);
    }
  }
}
