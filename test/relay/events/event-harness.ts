// Wiring for event worker tests: a spool in a temp dir with the outbound spool and the event outbox on
// it, a real HTTPS receiver, a webhook client trusting the test CA, and a clock the test moves.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { EventWebhookConfig } from "../../../relay/config/schema.ts";
import { WebhookHttpClient } from "../../../relay/deliver/http-client.ts";
import { EventDeliveryWorker } from "../../../relay/events/event-worker.ts";
import { EventOutbox } from "../../../relay/events/outbox.ts";
import { silentLogger } from "../../../relay/log.ts";
import { createRelayMetrics } from "../../../relay/metrics/metrics.ts";
import { OutboundSpool } from "../../../relay/queue/outbound-store.ts";
import { Spool } from "../../../relay/queue/store.ts";
import { startHttpsReceiver, type HttpsReceiver } from "../../helpers/https-receiver.ts";
import { testCaFile } from "../../helpers/tls-fixtures.ts";
import { outboundMessage } from "../queue/outbound-messages.ts";

export const T0 = Date.UTC(2025, 2, 9, 6, 59, 58); // 01:59:58 in New York, two seconds before DST starts

export function eventWebhook(receiver: HttpsReceiver, name: string, overrides: Partial<EventWebhookConfig> = {}): EventWebhookConfig {
  return {
    key: `ns/${name}`,
    namespace: "ns",
    name,
    endpoint: `${receiver.origin}/${name}`,
    events: { deliveries: true, bounces: true },
    version: "2",
    contentType: "form",
    timeZone: "UTC",
    auth: {},
    batch: { intervalSeconds: 1, maxEvents: 100 },
    retry: { maxAgeHours: 24 },
    timeoutSeconds: 5,
    ...overrides,
  };
}

export async function eventRig(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-events-"));
  const clock = { now: T0 };
  const now = () => clock.now;
  const spool = Spool.open(dir, { log: () => {}, now });
  const receiver = await startHttpsReceiver();
  const client = new WebhookHttpClient({ caFile: testCaFile, allowNetworks: ["127.0.0.0/8"], maxConnectionsPerOrigin: 4, maxResponseBytes: 65_536 });
  const outbox = new EventOutbox(spool.database, { now });
  const metrics = createRelayMetrics(() => undefined, now, () => ({ eventsPending: () => outbox.pendingEvents() }));
  let webhooks: EventWebhookConfig[] = [];
  const worker = new EventDeliveryWorker({ outbox, client: () => client, webhooks: () => webhooks, serverComposition: "test-composition", metrics, logger: silentLogger, now });
  const outbound = new OutboundSpool(spool.database, { now, onEvents: () => worker.wake() });
  t.after(async () => {
    await worker.stop();
    await client.close();
    await receiver.close();
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let n = 0;
  return {
    spool,
    outbound,
    outbox,
    worker,
    receiver,
    metrics,
    clock,
    /** Replaces the webhook set, as a reload does. */
    configure(next: EventWebhookConfig[]) {
      webhooks = next;
      worker.wake();
    },
    /** Accepts one mail with `count` recipients: `count` queued events. */
    record(count: number) {
      n++;
      return outbound.accept(outboundMessage(n, Array.from({ length: count }, (_, i) => `r${n}-${i}@example.test`), clock.now));
    },
    /** Moves the clock by `ms` and lets the worker look. */
    advance(ms: number) {
      clock.now += ms;
      worker.wake();
    },
  };
}

/** The `event` items of a request, decoded as a receiver of the seed service does. */
export function decodeEventRequest(body: Buffer, contentType: string | undefined): { params: Record<string, unknown>; items: Record<string, unknown>[] } {
  let params: Record<string, unknown>;
  let event: Record<string, unknown>;
  if (contentType === "application/json") {
    params = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    event = params.event as Record<string, unknown>;
  } else {
    params = Object.fromEntries(new URLSearchParams(body.toString("utf8")));
    event = JSON.parse(String(params.event)) as Record<string, unknown>;
  }
  return { params, items: event[String(params.event_type)] as Record<string, unknown>[] };
}

export function settle(ms = 100): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
