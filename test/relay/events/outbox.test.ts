import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { EventOutbox } from "../../../relay/events/outbox.ts";
import { OutboundSpool } from "../../../relay/queue/outbound-store.ts";
import { Spool } from "../../../relay/queue/store.ts";
import { outboundMessage } from "../queue/outbound-messages.ts";

const HOUR = 3_600_000;

function open(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-outbox-"));
  const spool = Spool.open(dir, { log: () => {} });
  t.after(() => {
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const clock = { now: 1_700_000_000_000 };
  const outbound = new OutboundSpool(spool.database, { now: () => clock.now });
  const outbox = new EventOutbox(spool.database, { now: () => clock.now, removedWebhookGraceMs: HOUR });
  let n = 0;
  /** Records `count` queued events (one mail, `count` recipients). */
  const record = (count: number) => {
    n++;
    return outbound.accept(outboundMessage(n, Array.from({ length: count }, (_, i) => `r${n}-${i}@example.test`)));
  };
  const eventCount = () => Number(spool.database.prepare("SELECT count(*) AS n FROM events").get()?.n);
  return { spool, outbound, outbox, record, clock, eventCount };
}

const both = { deliveries: true, bounces: true };

test("a new webhook receives the events recorded from its creation on, not the history", async (t) => {
  const { outbox, record } = open(t);
  outbox.syncWebhooks([{ key: "ns/old", events: both }]);
  await record(3);
  outbox.syncWebhooks([{ key: "ns/old", events: both }, { key: "ns/new", events: both }]);
  await record(2);
  assert.equal(outbox.waiting("ns/old", "deliveries"), 5);
  assert.equal(outbox.waiting("ns/new", "deliveries"), 2);
  const batch = outbox.formBatch("ns/new", "deliveries", 100);
  assert.ok(batch);
  assert.deepEqual(outbox.readBatch(batch).events.map((e) => e.to), ["r2-0@example.test", "r2-1@example.test"]);
});

test("batches take at most maxEvents, in order, are formed once and read back the same", async (t) => {
  const { outbox, record } = open(t);
  outbox.syncWebhooks([{ key: "ns/a", events: both }]);
  await record(7);
  const first = outbox.formBatch("ns/a", "deliveries", 3);
  const second = outbox.formBatch("ns/a", "deliveries", 3);
  const third = outbox.formBatch("ns/a", "deliveries", 3);
  assert.ok(first && second && third);
  assert.equal(outbox.formBatch("ns/a", "deliveries", 3), undefined);
  assert.deepEqual([first.count, second.count, third.count], [3, 3, 1]);
  assert.match(first.id, /^evt_[A-Za-z0-9_-]{22}$/);
  assert.equal(outbox.headBatch("ns/a")?.id, first.id);
  assert.deepEqual(outbox.readBatch(outbox.batch(first.id)!), outbox.readBatch(first));
  await outbox.reschedule(first.id, { at: 5, attempts: 1, lastError: "HTTP 500" });
  assert.deepEqual({ ...outbox.headBatch("ns/a"), nextAttemptAt: 0 }, { ...first, attempts: 1, lastError: "HTTP 500", nextAttemptAt: 0 });
  await outbox.delivered(first.id);
  assert.equal(outbox.headBatch("ns/a")?.id, second.id);
  assert.deepEqual(outbox.backlog().get("ns/a"), { waiting: { deliveries: 0, bounces: 0 }, batches: 2, eventsInBatches: 4 });
  assert.equal(outbox.deliveryFacts().get("ns/a")?.lastError, "HTTP 500");
});

test("a given-up batch is counted in the webhook's facts", async (t) => {
  const { outbox, record, clock } = open(t);
  outbox.syncWebhooks([{ key: "ns/a", events: both }]);
  await record(4);
  const batch = outbox.formBatch("ns/a", "deliveries", 10);
  assert.ok(batch);
  await outbox.giveUp(batch.id, "not delivered within 24 hours (12 attempts)");
  assert.deepEqual(outbox.deliveryFacts().get("ns/a"), {
    lastSuccessAt: null,
    lastError: null,
    lastErrorAt: null,
    eventsGivenUp: 4,
    batchesGivenUp: 1,
    lastGiveUpAt: clock.now,
    lastGiveUpReason: "not delivered within 24 hours (12 attempts)",
  });
  assert.equal(outbox.headBatch("ns/a"), undefined);
});

test("a webhook that vanishes keeps its backlog for the grace period, and loses it after", async (t) => {
  const { outbox, record, clock } = open(t);
  outbox.syncWebhooks([{ key: "ns/a", events: both }]);
  await record(2);
  assert.ok(outbox.formBatch("ns/a", "deliveries", 1));
  assert.deepEqual(outbox.syncWebhooks([]), []);
  await record(1);
  clock.now += HOUR - 1;
  assert.deepEqual(outbox.syncWebhooks([{ key: "ns/a", events: both }]), [], "it came back in time");
  assert.equal(outbox.waiting("ns/a", "deliveries"), 2, "including what was recorded while it was away");
  assert.deepEqual(outbox.syncWebhooks([]), []);
  clock.now += HOUR;
  assert.deepEqual(outbox.syncWebhooks([]), [
    { webhookKey: "ns/a", type: "bounces", events: 0 },
    { webhookKey: "ns/a", type: "deliveries", events: 3 },
  ]);
  assert.equal(outbox.headBatch("ns/a"), undefined);
  assert.equal(outbox.backlog().size, 0);
});

test("events every webhook has passed are pruned, and those of a type nobody subscribes to", async (t) => {
  const { outbox, record, eventCount } = open(t);
  outbox.syncWebhooks([
    { key: "ns/a", events: { deliveries: true, bounces: false } },
    { key: "ns/b", events: { deliveries: true, bounces: false } },
  ]);
  await record(5);
  const a = outbox.formBatch("ns/a", "deliveries", 5);
  const b = outbox.formBatch("ns/b", "deliveries", 2);
  assert.ok(a && b);
  assert.equal(await outbox.prune(), 0, "both batches still need them");
  await outbox.delivered(a.id);
  assert.equal(await outbox.prune(), 0, "ns/b's batch still needs them");
  await outbox.delivered(b.id);
  assert.equal(await outbox.prune(), 2, "ns/b has not received the last three");
  assert.equal(eventCount(), 3);
  outbox.syncWebhooks([]);
  assert.equal(await outbox.prune(), 0, "a vanished webhook's events wait for the grace period");
  assert.equal(outbox.waiting("ns/b", "deliveries"), 3);
});
