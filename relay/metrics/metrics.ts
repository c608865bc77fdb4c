// Every metric the relay exports, in one place (documented in docs/metrics.md). Names follow
// mailhook_<noun>_<unit>; labels are bounded: a webhook's namespace/name, an outcome or a reason,
// never a recipient, an address or a URL.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface PendingSource {
  /** Pending jobs per webhook key, with the first-seen time (ms) of the oldest. */
  pendingByWebhook(): Map<string, { pending: number; oldestFirstSeenAt: number }>;
  /** Body segment files in use (relay/queue/body-segments.ts). */
  readonly bodySegmentCount: number;
}

/** What the outbound side and the event outbox report for gauges (read at scrape time). */
export interface OutboundMetricSources {
  /** Queued outbound jobs and the first-seen time (ms) of the oldest. */
  readonly outboundPending?: () => { jobs: number; oldestFirstSeenAt: number | undefined };
  /** Events each EventWebhook has not received yet (waiting and in undelivered batches). */
  readonly eventsPending?: () => ReadonlyMap<string, number>;
}

export type OutboundOutcome = "delivered" | "deferred" | "failed";
export type BatchOutcome = "delivered" | "retry" | "gave_up";

export type RefusalReason =
  | "unknown_domain"
  | "invalid_recipient"
  | "no_webhook"
  | "suspended"
  | "too_large"
  | "too_many_recipients"
  | "header_too_large"
  | "line_too_long"
  | "malformed"
  | "auth_failed"
  | "sender_not_allowed"
  | "not_ready"
  | "busy"
  | "spool_error";

export type PostOutcome = "success" | "retry" | "gone" | "gave_up";

export function createRelayMetrics(
  pending: () => PendingSource | undefined,
  now: () => number = Date.now,
  outbound: () => OutboundMetricSources = () => ({}),
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mailhook_process_" });
  const registers = [registry];

  const pendingSnapshot = (): ReturnType<PendingSource["pendingByWebhook"]> => pending()?.pendingByWebhook() ?? new Map<string, { pending: number; oldestFirstSeenAt: number }>();

  return {
    registry,
    mailsReceived: new Counter({
      name: "mailhook_inbound_mails_received_total",
      help: "Inbound mails accepted with 250 (committed to the spool).",
      registers,
    }),
    mailsRefused: new Counter({
      name: "mailhook_inbound_mails_refused_total",
      help: "Inbound mails or recipients refused in the SMTP session, by reason.",
      labelNames: ["reason"] as const,
      registers,
    }),
    submissionRefused: new Counter({
      name: "mailhook_submission_refused_total",
      help: "Mails or recipients refused on the submission (relay-source) listener, by reason.",
      labelNames: ["reason"] as const,
      registers,
    }),
    recipientsUnmatched: new Counter({
      name: "mailhook_inbound_recipients_unmatched_total",
      help: "Recipients of accepted mails that no webhook matched (other recipients of the same mail did).",
      registers,
    }),
    jobsCreated: new Counter({
      name: "mailhook_inbound_jobs_created_total",
      help: "Delivery jobs created (one per matching webhook and envelope recipient).",
      labelNames: ["webhook"] as const,
      registers,
    }),
    posts: new Counter({
      name: "mailhook_inbound_posts_total",
      help: "Inbound webhook POST attempts by webhook and outcome (success, retry, gone, gave_up).",
      labelNames: ["webhook", "outcome"] as const,
      registers,
    }),
    postDuration: new Histogram({
      name: "mailhook_inbound_post_duration_seconds",
      help: "Duration of one inbound webhook POST, connect to response.",
      labelNames: ["webhook"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    deliveryLatency: new Histogram({
      name: "mailhook_inbound_delivery_latency_seconds",
      help: "Time from SMTP acceptance to the endpoint's 2xx, retries included.",
      labelNames: ["webhook"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600, 86400],
      registers,
    }),
    gaveUp: new Counter({
      name: "mailhook_inbound_gave_up_total",
      help: "Inbound deliveries given up (retry period exceeded, 410 Gone, unreadable), by reason.",
      labelNames: ["webhook", "reason"] as const,
      registers,
    }),
    quarantined: new Counter({
      name: "mailhook_spool_quarantined_total",
      help: "Spool items that could not be read and were moved to quarantine (never deleted).",
      registers,
    }),
    configReloads: new Counter({
      name: "mailhook_config_reloads_total",
      help: "Webhook configuration loads by outcome (applied, unchanged, failed).",
      labelNames: ["outcome"] as const,
      registers,
    }),
    invalidWebhooks: new Gauge({
      name: "mailhook_webhooks_invalid",
      help: "Webhook resources skipped because they are invalid (see their status or the relay log).",
      registers,
    }),
    activeWebhooks: new Gauge({
      name: "mailhook_webhooks_active",
      help: "Inbound webhooks currently matched against mail (valid and not suspended).",
      registers,
    }),
    pendingJobs: new Gauge({
      name: "mailhook_inbound_pending_jobs",
      help: "Inbound deliveries waiting in the spool, per webhook.",
      labelNames: ["webhook"] as const,
      registers,
      collect() {
        this.reset();
        for (const [webhook, p] of pendingSnapshot()) this.set({ webhook }, p.pending);
      },
    }),
    oldestPending: new Gauge({
      name: "mailhook_inbound_oldest_pending_seconds",
      help: "Age of the oldest inbound delivery waiting in the spool, per webhook.",
      labelNames: ["webhook"] as const,
      registers,
      collect() {
        this.reset();
        const t = now();
        for (const [webhook, p] of pendingSnapshot()) this.set({ webhook }, Math.max(0, (t - p.oldestFirstSeenAt) / 1000));
      },
    }),
    bodySegments: new Gauge({
      name: "mailhook_spool_body_segments",
      help: "Body segment files of the spool in use (each up to 64 MiB): more than a few means mail stays queued.",
      registers,
      collect() {
        this.set(pending()?.bodySegmentCount ?? 0);
      },
    }),
    outboundDeliveries: new Counter({
      name: "mailhook_outbound_deliveries_total",
      help: "Outbound delivery attempts per recipient by outcome (delivered, deferred, failed).",
      labelNames: ["outcome"] as const,
      registers,
    }),
    outboundQueued: new Gauge({
      name: "mailhook_outbound_queued_jobs",
      help: "Outbound recipients waiting for delivery (due now or deferred).",
      registers,
      collect() {
        this.set(outbound().outboundPending?.().jobs ?? 0);
      },
    }),
    outboundOldest: new Gauge({
      name: "mailhook_outbound_oldest_queued_seconds",
      help: "Age of the oldest outbound recipient still waiting for delivery; 0 when none waits.",
      registers,
      collect() {
        const oldest = outbound().outboundPending?.().oldestFirstSeenAt;
        this.set(oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000));
      },
    }),
    eventsRecorded: new Counter({
      name: "mailhook_events_recorded_total",
      help: "Delivery events recorded in the outbox, by event_type and status.",
      labelNames: ["type", "status"] as const,
      registers,
    }),
    eventBatches: new Counter({
      name: "mailhook_event_batches_total",
      help: "Event batch POST attempts by webhook and outcome (delivered, retry, gave_up).",
      labelNames: ["webhook", "outcome"] as const,
      registers,
    }),
    eventBatchSize: new Histogram({
      name: "mailhook_event_batch_size_events",
      help: "Events per event batch, counted when the batch is formed.",
      labelNames: ["webhook"] as const,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    }),
    eventBatchDuration: new Histogram({
      name: "mailhook_event_batch_post_duration_seconds",
      help: "Duration of one event batch POST, connect to response.",
      labelNames: ["webhook"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    eventsPending: new Gauge({
      name: "mailhook_events_pending",
      help: "Events an EventWebhook has not received yet (waiting for a batch or in an undelivered one).",
      labelNames: ["webhook"] as const,
      registers,
      collect() {
        this.reset();
        for (const [webhook, n] of outbound().eventsPending?.() ?? []) this.set({ webhook }, n);
      },
    }),
    eventsGivenUp: new Counter({
      name: "mailhook_events_given_up_total",
      help: "Events never delivered to a webhook: their batch passed retry.maxAgeHours (expired) or the webhook was gone past its grace period (webhook_removed).",
      labelNames: ["webhook", "reason"] as const,
      registers,
    }),
    eventBatchesGivenUp: new Counter({
      name: "mailhook_event_batches_given_up_total",
      help: "Event batches given up after retry.maxAgeHours, by webhook.",
      labelNames: ["webhook"] as const,
      registers,
    }),
  };
}

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;
