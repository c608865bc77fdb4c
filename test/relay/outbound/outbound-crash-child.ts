// Child process for outbound-crash.test.ts: the outbound side wired without relay.ts — spool, outbound
// spool, event outbox, the outbound worker delivering to a sink and the event worker posting to a
// receiver. In `load` mode it also accepts mail as fast as it can and prints each message id once its
// accept resolved (the moment the relay would answer 250); the parent kills it with SIGKILL mid-stream.
// In `drain` mode it only delivers what the spool holds.
import { WebhookHttpClient } from "../../../relay/deliver/http-client.ts";
import { EventDeliveryWorker } from "../../../relay/events/event-worker.ts";
import { EventOutbox } from "../../../relay/events/outbox.ts";
import { silentLogger } from "../../../relay/log.ts";
import { createRelayMetrics } from "../../../relay/metrics/metrics.ts";
import { OutboundDeliveryWorker } from "../../../relay/outbound/outbound-worker.ts";
import { outboundSettings } from "../../../relay/outbound/settings.ts";
import { OutboundDelivery } from "../../../relay/outbound/smtp-deliver.ts";
import { OutboundSpool } from "../../../relay/queue/outbound-store.ts";
import { Spool } from "../../../relay/queue/store.ts";
import { testCaFile } from "../../helpers/tls-fixtures.ts";
import { outboundMessage } from "../queue/outbound-messages.ts";

const [dir, sinkPort, receiverOrigin, mode] = process.argv.slice(2);
if (dir === undefined || sinkPort === undefined || receiverOrigin === undefined || (mode !== "load" && mode !== "drain")) {
  throw new Error("usage: outbound-crash-child.ts DIR SINK_PORT RECEIVER_ORIGIN load|drain");
}

const spool = Spool.open(dir);
const metrics = createRelayMetrics(() => undefined);
const outbox = new EventOutbox(spool.database);
const client = new WebhookHttpClient({ caFile: testCaFile, allowNetworks: ["127.0.0.0/8"], maxConnectionsPerOrigin: 4, maxResponseBytes: 65_536 });
const webhooks = [
  {
    key: "ns/crash",
    namespace: "ns",
    name: "crash",
    endpoint: `${receiverOrigin}/events`,
    events: { deliveries: true, bounces: true },
    version: "2" as const,
    contentType: "json" as const,
    timeZone: "UTC",
    auth: {},
    batch: { intervalSeconds: 1, maxEvents: 100 },
    retry: { maxAgeHours: 24 },
    timeoutSeconds: 5,
  },
];
const events = new EventDeliveryWorker({ outbox, client: () => client, webhooks: () => webhooks, serverComposition: "crash", metrics, logger: silentLogger });
const outbound = new OutboundSpool(spool.database, { onEvents: () => events.wake() });
const delivery = new OutboundDelivery(outboundSettings.parse({ routes: { "example.test": `127.0.0.1:${sinkPort}` }, heloName: "relay.test" }));
const worker = new OutboundDeliveryWorker({
  spool: outbound,
  delivery,
  retry: { firstDelaySeconds: 0.05, maxDelaySeconds: 0.2, maxAgeHours: 1 },
  returnPath: { bounceDomain: "bounces.relay.test" },
  concurrency: 8,
  metrics,
  logger: silentLogger,
});
events.wake();
worker.wake();

if (mode === "load") {
  let next = 0;
  const acceptOne = (): void => {
    const n = next++;
    outbound.accept(outboundMessage(n, [`a${n}@example.test`, `b${n}@example.test`], Date.now())).then(
      () => {
        process.stdout.write(`${n}\n`);
        worker.wake();
        acceptOne();
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  for (let i = 0; i < 16; i++) acceptOne();
}
// Keeps running until the parent kills it.
setInterval(() => {}, 1000);
