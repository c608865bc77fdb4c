// The relay process, wired. Two flows share one spool database:
// - inbound: SMTP (MX side) → match → spool (250 only after commit) → inbound worker → HTTP POST
//   (parsed, rendered and posted on the posting thread, or in the event loop with about one CPU);
//   mail to a VERP return path is a bounce report instead: analysed, recorded as a `bounced` event;
// - outbound: SMTP (submission side) → outbound spool + `queued` events (one commit) → outbound
//   worker → destination servers → outcome + events (one commit each) → event worker → batched POSTs.
// The webhook configuration arrives through `applyWebhooks` (from the operator's rendered config, or
// from manifests in standalone mode) and can change at any time without dropping SMTP sessions or
// queued deliveries.
import type { EventWebhookConfig, InboundWebhookConfig, RelaySettings, WebhookSetInput } from "./config/schema.ts";
import { parseListen } from "./config/schema.ts";
import { WebhookHttpClient } from "./deliver/http-client.ts";
import { inboundPoster, wantsPostingThread, type ClosablePoster } from "./deliver/inbound-poster.ts";
import { InboundDeliveryWorker } from "./deliver/inbound-worker.ts";
import type { Logger } from "./log.ts";
import { compileMatchers, matchMessage, recipientMayMatch, type Matchers, type MatcherError } from "./match/conditions.ts";
import { parseHeaderBlock } from "./match/header-block.ts";
import { startProbeServer, type ProbeServer } from "./metrics/http-server.ts";
import { createRelayMetrics, type RelayMetrics } from "./metrics/metrics.ts";
import { newJobId, newMessageId } from "./queue/ids.ts";
import { Spool } from "./queue/store.ts";
import { OutboundSpool } from "./queue/outbound-store.ts";
import { bounceIntake, type BounceIntake } from "./bounce/bounce-intake.ts";
import { EventOutbox, type WebhookDeliveryFacts } from "./events/outbox.ts";
import { EventDeliveryWorker } from "./events/event-worker.ts";
import { eventTypeOf } from "./events/types.ts";
import { OutboundDeliveryWorker } from "./outbound/outbound-worker.ts";
import { OutboundDelivery } from "./outbound/smtp-deliver.ts";
import { startInboundListener, type InboundHandler, type InboundListener, type ReceivedMail, type ReceiveResult } from "./smtp-in/listener.ts";
import { replies } from "./smtp-in/replies.ts";
import type { SmtpListener } from "./smtp-in/smtp-listener.ts";
import { MAX_RECEIVED_HEADER_BYTES } from "./smtp-in/trace-header.ts";
import { submissionIntake } from "./submission/intake.ts";
import { startSubmissionListener } from "./submission/listener.ts";

export interface RelayOptions {
  readonly logger: Logger;
  readonly now?: () => number;
  /** How long stop() lets SMTP transactions in progress finish. */
  readonly closeGraceMs?: number;
}

export class Relay {
  readonly settings: RelaySettings;
  readonly metrics: RelayMetrics;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #closeGraceMs: number | undefined;
  #spool: Spool | undefined;
  #client: WebhookHttpClient | undefined;
  #poster: ClosablePoster | undefined;
  #worker: InboundDeliveryWorker | undefined;
  #listener: InboundListener | undefined;
  #submission: SmtpListener | undefined;
  #outbound: OutboundSpool | undefined;
  #outbox: EventOutbox | undefined;
  #delivery: OutboundDelivery | undefined;
  #outboundWorker: OutboundDeliveryWorker | undefined;
  #eventWorker: EventDeliveryWorker | undefined;
  #bounces: BounceIntake | undefined;
  #probes: ProbeServer | undefined;
  #webhooks: ReadonlyMap<string, InboundWebhookConfig> = new Map();
  #eventWebhooks: readonly EventWebhookConfig[] = [];
  #matchers: Matchers = compileMatchers([]).matchers;
  #configured = false;

  private constructor(settings: RelaySettings, options: RelayOptions) {
    this.settings = settings;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#closeGraceMs = options.closeGraceMs;
    this.metrics = createRelayMetrics(() => this.#spool, this.#now, () => ({
      outboundPending: () => this.#outbound?.pending() ?? { jobs: 0, oldestFirstSeenAt: undefined },
      eventsPending: () => this.#outbox?.pendingEvents() ?? new Map<string, number>(),
    }));
  }

  /** Opens the spool, starts delivering what it holds, then listens for SMTP and probes. */
  static async start(settings: RelaySettings, options: RelayOptions): Promise<Relay> {
    const relay = new Relay(settings, options);
    try {
      await relay.#start();
    } catch (err) {
      await relay.stop();
      throw err;
    }
    return relay;
  }

  async #start(): Promise<void> {
    const { settings } = this;
    this.#probes = await startProbeServer(parseListen(settings.metrics.listen), this.metrics.registry, () => this.#readiness(), () => this.#status());
    this.#spool = Spool.open(settings.spool.dir, {
      groupCommitDelayMs: settings.spool.commitDelayMs,
      now: this.#now,
      log: (level, msg, fields) => this.#log[level](msg, { component: "spool", ...fields }),
    });
    this.#client = new WebhookHttpClient(settings.endpoints);
    const client = this.#client;
    const postingThread = wantsPostingThread(settings.endpoints.postingThread);
    this.#poster = inboundPoster(settings.endpoints, postingThread);
    this.#worker = new InboundDeliveryWorker({
      spool: this.#spool,
      poster: this.#poster,
      webhooks: () => this.#webhooks,
      serverComposition: settings.serverComposition,
      metrics: this.metrics,
      logger: this.#log.child({ component: "deliver" }),
      concurrency: settings.endpoints.maxConnectionsPerOrigin * 4,
      perWebhookConcurrency: settings.endpoints.maxConnectionsPerOrigin,
      now: this.#now,
    });
    this.#worker.rescan(); // whatever the spool held at start-up
    const outbound = this.#startOutboundSide(this.#spool, client);
    // The bounce domain is an accepted domain too: bounce mail for our VERP return paths arrives here.
    const { bounceDomain } = settings.outbound;
    const inbound = bounceDomain === null ? settings.inbound : { ...settings.inbound, domains: [...settings.inbound.domains, bounceDomain] };
    this.#listener = await startInboundListener(inbound, this.#inboundHandler(), this.#log);
    if (settings.submission) {
      this.#submission = await startSubmissionListener(
        settings.submission,
        {
          receive: submissionIntake({
            outbound,
            apiDataHeader: settings.submission.apiDataHeader,
            maxHeaderBytes: settings.submission.maxHeaderBytes,
            logger: this.#log.child({ component: "submission" }),
            accepted: () => this.#outboundWorker?.wake(),
            now: this.#now,
          }),
          refused: (event) => this.metrics.submissionRefused.inc({ reason: event.reason }),
        },
        this.#log,
      );
    }
    this.#log.info("relay started", {
      smtp: `${this.#listener.address.address}:${this.#listener.address.port}`,
      metrics: this.metricsPort,
      spool: settings.spool.dir,
      domains: settings.inbound.domains,
      inboundPosts: postingThread ? "posting thread" : "event loop",
    });
  }

  /** The outbound spool, event outbox and their workers: delivery of submitted mail and its events. */
  #startOutboundSide(spool: Spool, client: WebhookHttpClient): OutboundSpool {
    const { settings } = this;
    const outbox = new EventOutbox(spool.database, { now: this.#now });
    const eventWorker = new EventDeliveryWorker({
      outbox,
      client: () => client,
      webhooks: () => this.#eventWebhooks,
      serverComposition: settings.serverComposition,
      metrics: this.metrics,
      logger: this.#log.child({ component: "events" }),
      now: this.#now,
    });
    const outbound = new OutboundSpool(spool.database, {
      now: this.#now,
      log: (level, msg, fields) => this.#log[level](msg, { component: "outbound-spool", ...fields }),
      suppressHardBounces: settings.outbound.suppression.enabled,
      onEvents: (status, count) => {
        this.metrics.eventsRecorded.inc({ type: eventTypeOf(status), status }, count);
        eventWorker.wake();
      },
    });
    const verp = { bounceDomain: settings.outbound.bounceDomain };
    this.#delivery = new OutboundDelivery(settings.outbound);
    this.#outboundWorker = new OutboundDeliveryWorker({
      spool: outbound,
      delivery: this.#delivery,
      retry: settings.outbound.retry,
      returnPath: verp,
      concurrency: settings.outbound.concurrency,
      suppression: settings.outbound.suppression,
      metrics: this.metrics,
      logger: this.#log.child({ component: "outbound" }),
      now: this.#now,
    });
    this.#bounces = bounceIntake(verp, outbound, this.#log);
    this.#outbound = outbound;
    this.#outbox = outbox;
    this.#eventWorker = eventWorker;
    eventWorker.wake();
    this.#outboundWorker.wake();
    return outbound;
  }

  get smtpPort(): number {
    if (!this.#listener) throw new Error("relay not started");
    return this.#listener.address.port;
  }

  /** The submission listener's port (when `submission` is configured). */
  get submissionPort(): number {
    if (!this.#submission) throw new Error("submission listener not running");
    return this.#submission.address.port;
  }

  get metricsPort(): number {
    if (!this.#probes) throw new Error("relay not started");
    return this.#probes.port;
  }

  /**
   * Swaps in a new webhook configuration. Patterns are compiled here once; a webhook whose pattern
   * does not compile is left out of matching (its queued deliveries still go out) and reported.
   */
  applyWebhooks(set: WebhookSetInput): { errors: MatcherError[] } {
    const { matchers, errors } = compileMatchers(set.inbound);
    for (const e of errors) this.#log.error("webhook left out of matching", { webhook: e.key, field: e.path, error: e.message });
    this.#matchers = matchers;
    this.#webhooks = new Map(set.inbound.map((w) => [w.key, w]));
    // A new array: the event worker notices a changed set by identity.
    this.#eventWebhooks = [...(set.event ?? [])];
    this.#configured = true;
    this.metrics.activeWebhooks.set(matchers.webhooks.filter((w) => !w.suspended).length);
    this.#worker?.rescan();
    this.#eventWorker?.wake();
    return { errors };
  }

  /** Graceful: no new mail, SMTP transactions in progress finish, posts in flight finish, spool closed. */
  async stop(): Promise<void> {
    await Promise.all([this.#listener?.close(this.#closeGraceMs), this.#submission?.close(this.#closeGraceMs)]);
    await Promise.all([this.#worker?.stop(), this.#outboundWorker?.stop(), this.#eventWorker?.stop()]);
    await Promise.all([this.#client?.close(), this.#poster?.close()]);
    this.#delivery?.close();
    this.#spool?.close();
    await this.#probes?.close();
    this.#listener = this.#submission = this.#worker = this.#outboundWorker = this.#eventWorker = this.#client = this.#poster = this.#spool = undefined;
  }

  /** Delivery facts per webhook (the `/status` endpoint): what a user checks first when posts fail. */
  #status(): { inbound: Record<string, unknown>; event: Record<string, unknown> } {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const now = this.#now();
    const inbound: Record<string, unknown> = {};
    const backlog = this.#spool?.pendingByWebhook() ?? new Map<string, { pending: number; oldestFirstSeenAt: number }>();
    for (const key of new Set([...this.#webhooks.keys(), ...backlog.keys()])) {
      const b = backlog.get(key);
      inbound[key] = {
        configured: this.#webhooks.has(key),
        suspended: this.#webhooks.get(key)?.suspended ?? false,
        pending: b?.pending ?? 0,
        oldestPendingSeconds: b ? Math.max(0, Math.round((now - b.oldestFirstSeenAt) / 1000)) : 0,
      };
    }
    const event: Record<string, unknown> = {};
    const facts = this.#outbox?.deliveryFacts() ?? new Map<string, WebhookDeliveryFacts>();
    const pending = this.#outbox?.pendingEvents() ?? new Map<string, number>();
    for (const key of new Set([...this.#eventWebhooks.map((w) => w.key), ...facts.keys()])) {
      const f = facts.get(key);
      event[key] = {
        configured: this.#eventWebhooks.some((w) => w.key === key),
        pendingEvents: pending.get(key) ?? 0,
        lastSuccessTime: iso(f?.lastSuccessAt ?? null),
        lastError: f?.lastError ?? null,
        lastErrorTime: iso(f?.lastErrorAt ?? null),
        eventsGivenUp: f?.eventsGivenUp ?? 0,
        lastGiveUpTime: iso(f?.lastGiveUpAt ?? null),
        lastGiveUpReason: f?.lastGiveUpReason ?? null,
      };
    }
    return { inbound, event };
  }

  #readiness(): { ready: boolean; reason?: string } {
    if (!this.#listener || !this.#spool) return { ready: false, reason: "starting" };
    if (!this.#configured) return { ready: false, reason: "no webhook configuration loaded yet" };
    // Every mail would get a 451: send the traffic elsewhere until an operator restarts the relay.
    const failure = this.#spool.syncFailure;
    if (failure !== undefined) return { ready: false, reason: `spool cannot write durably (restart required): ${failure}` };
    return { ready: true };
  }

  #inboundHandler(): InboundHandler {
    return {
      checkRecipient: (address) => {
        if (this.#bounces?.isBounceAddress(address)) return "active";
        // Before the first configuration every recipient would look unknown: refuse only for now.
        return this.#configured ? recipientMayMatch(this.#matchers, address) : "not-ready";
      },
      receive: (mail) => this.#receive(mail),
      refused: (event) => this.metrics.mailsRefused.inc({ reason: event.reason }),
    };
  }

  async #receive(mail: ReceivedMail): Promise<ReceiveResult> {
    const spool = this.#spool;
    if (!spool) return { accepted: false, ...replies.localError() };
    const bounces = this.#bounces;
    const returned = bounces ? mail.recipients.filter((r) => bounces.isBounceAddress(r)) : [];
    if (returned.length > 0) {
      await bounces!.receive(mail.raw, returned);
      if (returned.length === mail.recipients.length) return { accepted: true, queueId: "bounce" };
      mail = { ...mail, recipients: mail.recipients.filter((r) => !returned.includes(r)) };
    }
    // The listener already enforced maxHeaderBytes on the sender's headers; our Received line is extra.
    const headers = parseHeaderBlock(mail.raw, this.settings.inbound.maxHeaderBytes + MAX_RECEIVED_HEADER_BYTES);
    const match = matchMessage(this.#matchers, headers, mail.recipients);
    if (match.deliveries.length === 0) {
      return { accepted: false, ...(match.suspendedMatches > 0 ? replies.suspended() : replies.noWebhook()) };
    }
    if (match.unmatchedRecipients.length > 0) {
      // SMTP cannot refuse one recipient after DATA; the others matched, so the mail is accepted and
      // these recipients are counted (docs/inbound.md explains why this beats bouncing everyone).
      this.metrics.recipientsUnmatched.inc(match.unmatchedRecipients.length);
      this.#log.warn("accepted mail has recipients no webhook matched", { unmatched: match.unmatchedRecipients.length });
    }
    const message = {
      id: newMessageId(),
      receivedAt: this.#now(),
      envelopeFrom: mail.envelopeFrom,
      recipients: mail.recipients,
      remoteAddress: mail.remoteAddress,
      size: mail.raw.byteLength,
    };
    const jobs = match.deliveries.map((d) => ({ id: newJobId(), webhookKey: d.webhookKey, recipient: d.recipient }));
    await spool.accept({ ...message, raw: mail.raw, jobs });
    this.metrics.mailsReceived.inc();
    for (const job of jobs) this.metrics.jobsCreated.inc({ webhook: job.webhookKey });
    this.#worker?.offer({ message, raw: mail.raw, jobs });
    return { accepted: true, queueId: message.id };
  }
}
