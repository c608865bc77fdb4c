// When the spool cannot record an outcome (disk full), the job must not be handed out again at once:
// a delivered mail would be sent to its recipient over and over while the disk stays full.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { silentLogger } from "../../../relay/log.ts";
import { createRelayMetrics } from "../../../relay/metrics/metrics.ts";
import { OutboundDeliveryWorker } from "../../../relay/outbound/outbound-worker.ts";
import { outboundSettings } from "../../../relay/outbound/settings.ts";
import { OutboundDelivery } from "../../../relay/outbound/smtp-deliver.ts";
import { SpoolError } from "../../../relay/queue/errors.ts";
import { OutboundSpool } from "../../../relay/queue/outbound-store.ts";
import { Spool } from "../../../relay/queue/store.ts";
import { startSmtpSink } from "../../helpers/smtp-sink.ts";

test("a delivery whose outcome cannot be recorded is not repeated in a loop", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mailhook-outcome-"));
  const spool = Spool.open(dir);
  after(async () => {
    spool.close();
    await rm(dir, { recursive: true, force: true });
  });
  let diskFull = false;
  const real = spool.database;
  // The real database, except that outcome writes fail as on a full disk once diskFull is set.
  const database: typeof real = Object.create(real) as typeof real;
  database.write = <T>(durable: boolean, apply: () => T) =>
    diskFull && !durable ? Promise.reject(new SpoolError("SPOOL_WRITE_FAILED", "disk full")) : real.write(durable, apply);
  const outbound = new OutboundSpool(database);
  await outbound.accept({
    id: "m1",
    receivedAt: Date.now(),
    envelopeFrom: "a@sender.test",
    sourceIp: "10.0.0.1",
    raw: Buffer.from("Subject: hi\r\n\r\nbody\r\n"),
    headerFrom: "a@sender.test",
    subject: "hi",
    messageIdHeader: "<1@sender.test>",
    apiData: "",
    jobs: [{ id: "j1", recipient: "victim@dest.test" }],
  });
  diskFull = true;
  const sink = await startSmtpSink();
  const settings = outboundSettings.parse({ routes: { "dest.test": `127.0.0.1:${sink.port}` }, heloName: "relay.test" });
  const delivery = new OutboundDelivery(settings);
  after(async () => {
    delivery.close();
    await sink.close();
  });
  const worker = new OutboundDeliveryWorker({
    spool: outbound,
    delivery,
    retry: settings.retry,
    returnPath: { bounceDomain: null },
    concurrency: 4,
   
    metrics: createRelayMetrics(() => spool),
    logger: silentLogger,
  });
  worker.wake();
  await sleep(500);
  await worker.stop();
  assert.equal(sink.messages.length, 1);
});
