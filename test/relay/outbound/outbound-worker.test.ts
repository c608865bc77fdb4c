import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { silentLogger } from "../../../relay/log.ts";
import { OutboundDeliveryWorker } from "../../../relay/outbound/outbound-worker.ts";
import { outboundSettings } from "../../../relay/outbound/settings.ts";
import { OutboundDelivery } from "../../../relay/outbound/smtp-deliver.ts";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.ts";
import { decodeEventRequest, eventRig, eventWebhook, settle } from "../events/event-harness.ts";

const verp = { bounceDomain: "bounces.relay.test" };

/** The event rig plus a destination sink for example.test and an outbound worker on a real clock. */
async function outboundRig(t: TestContext, retry = { firstDelaySeconds: 0.02, maxDelaySeconds: 0.05, maxAgeHours: 1 }) {
  const rig = await eventRig(t);
  rig.clock.now = Date.now();
  const sink = await startSmtpSink();
  const delivery = new OutboundDelivery(
    outboundSettings.parse({ routes: { "example.test": `127.0.0.1:${sink.port}` }, heloName: "relay.test", timeouts: { connectSeconds: 2, greetingSeconds: 2, commandSeconds: 2, dataSeconds: 2 } }),
  );
  const worker = new OutboundDeliveryWorker({ spool: rig.outbound, delivery, retry, returnPath: verp, concurrency: 4, metrics: rig.metrics, logger: silentLogger, now: () => rig.clock.now });
  // The clock follows real time, so the retry schedule runs as in production, only faster.
  const ticker = setInterval(() => (rig.clock.now = Date.now()), 5);
  t.after(async () => {
    clearInterval(ticker);
    await worker.stop();
    delivery.close();
    await sink.close();
  });
  rig.configure([eventWebhook(rig.receiver, "hook")]);
  return { ...rig, sink, worker };
}

async function accepted(rig: Awaited<ReturnType<typeof outboundRig>>, count: number): Promise<void> {
  await rig.record(count);
  rig.worker.wake();
}

/** Every event item the receiver got, as [status, to, extra] in order of arrival. */
function itemsOf(sink: { requests: { body: Buffer; headers: Record<string, unknown> }[] }) {
  return sink.requests.flatMap((r) => decodeEventRequest(r.body, String(r.headers["content-type"])).items);
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await settle(10);
  assert.ok(check(), what);
}

function sinkSaysOnce(sink: SmtpSink, code: number, message: string, times = 1): void {
  let left = times;
  sink.rules = { rcptTo: () => (left-- > 0 ? { code, message } : undefined) };
}

test("a delivered mail reaches its destination with a VERP return path naming its job, and yields queued then succeeded", async (t) => {
  const rig = await outboundRig(t);
  await accepted(rig, 1);
  await until(() => itemsOf(rig.receiver).length === 2, "queued and succeeded posted");
  const [mail] = rig.sink.messages;
  assert.ok(mail);
  assert.deepEqual(mail.to, ["r1-0@example.test"]);
  assert.match(mail.from, /^bounce\+job-1-0@bounces\.relay\.test$/);
  const items = itemsOf(rig.receiver);
  assert.deepEqual(items.map((i) => [i.status, i.to, i.senderIp !== "", i.returnPath]), [
    ["queued", "r1-0@example.test", false, "envelope1@example.org"],
    ["succeeded", "r1-0@example.test", true, "envelope1@example.org"],
  ]);
  assert.equal(items[1]?.senderIp, "127.0.0.1");
});

test("a mail deferred with 450 and delivered on the retry yields deferred, then succeeded", async (t) => {
  const rig = await outboundRig(t);
  sinkSaysOnce(rig.sink, 450, "4.2.1 mailbox busy, try later");
  await accepted(rig, 1);
  await until(() => itemsOf(rig.receiver).length === 3, "three events posted");
  assert.deepEqual(itemsOf(rig.receiver).map((i) => i.status), ["queued", "deferred", "succeeded"]);
  assert.match(String(itemsOf(rig.receiver)[1]?.reason), /450 4\.2\.1 mailbox busy/);
  assert.equal(rig.sink.messages.length, 1);
  const outcomes = (await rig.metrics.outboundDeliveries.get()).values.map((v) => [v.labels.outcome, v.value]).sort();
  assert.deepEqual(outcomes, [["deferred", 1], ["delivered", 1]]);
});

test("a 550 fails the recipient at once with failed and a bounced event carrying the error status", async (t) => {
  const rig = await outboundRig(t);
  sinkSaysOnce(rig.sink, 550, "5.1.1 <r1-0@example.test>: Recipient address rejected: User unknown");
  await accepted(rig, 1);
  await until(() => itemsOf(rig.receiver).length === 3, "queued, failed and bounced posted");
  const items = itemsOf(rig.receiver);
  assert.deepEqual(items.filter((i) => i.status !== "queued").map((i) => [i.status, i.errorStatus, i.enhancedStatus]).sort(), [["bounced", 2, "5.1.1"], ["failed", undefined, undefined]]);
  assert.equal(rig.sink.messages.length, 0);
  assert.equal(rig.outbound.pending().jobs, 0);
});

test("a destination that keeps deferring is given up when the retry period ends: failed and bounced with status 3", async (t) => {
  const rig = await outboundRig(t, { firstDelaySeconds: 0.02, maxDelaySeconds: 0.05, maxAgeHours: 0.0001 });
  sinkSaysOnce(rig.sink, 451, "4.3.0 temporary trouble", 1_000_000);
  await accepted(rig, 1);
  await until(() => itemsOf(rig.receiver).some((i) => i.status === "bounced"), "bounced posted");
  await until(() => itemsOf(rig.receiver).some((i) => i.status === "failed"), "failed posted");
  const items = itemsOf(rig.receiver);
  assert.ok(items.filter((i) => i.status === "deferred").length >= 1);
  const bounce = items.find((i) => i.status === "bounced");
  assert.equal(bounce?.errorStatus, 3);
  assert.match(String(bounce?.reason), /451 4\.3\.0 temporary trouble/);
  assert.equal(rig.outbound.pending().jobs, 0);
});
