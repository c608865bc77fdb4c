import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { EventOutbox } from "../../../relay/events/outbox.ts";
import type { DeliveryEvent, EventType } from "../../../relay/events/types.ts";
import { OutboundSpool } from "../../../relay/queue/outbound-store.ts";
import { Spool } from "../../../relay/queue/store.ts";
import { outboundMessage } from "./outbound-messages.ts";

const T0 = 1_700_000_000_000;

function open(t: TestContext, clock = { now: T0 }) {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-outbound-"));
  const spool = Spool.open(dir, { log: () => {} });
  t.after(() => {
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const recorded: [string, number][] = [];
  const outbound = new OutboundSpool(spool.database, { now: () => clock.now, log: () => {}, onEvents: (status, n) => recorded.push([status, n]) });
  const outbox = new EventOutbox(spool.database, { now: () => clock.now });
  outbox.syncWebhooks([{ key: "ns/all", events: { deliveries: true, bounces: true } }]);
  /** Every event recorded so far of a type, via a batch as a webhook would get it. */
  const events = (type: EventType): DeliveryEvent[] => {
    const batch = outbox.formBatch("ns/all", type, 100_000);
    return batch === undefined ? [] : [...outbox.readBatch(batch).events];
  };
  return { spool, outbound, outbox, events, recorded, clock };
}

test("accepting a mail stores one job and one queued event per recipient, in one transaction", async (t) => {
  const { spool, outbound, events, recorded } = open(t);
  const before = spool.transactionCount;
  await outbound.accept(outboundMessage(1, ["a@example.test", "b@example.test"]));
  assert.equal(spool.transactionCount, before + 1);
  const queued = events("deliveries");
  assert.deepEqual(
    queued.map((e) => [e.status, e.to, e.sourceIp, e.returnPath, e.from, e.messageId, e.subject, e.apiData, e.createdAt]),
    [
      ["queued", "a@example.test", "10.0.24.10", "envelope1@example.org", "sender1@example.org", "<m1@example.org>", "message #1", "API1", T0],
      ["queued", "b@example.test", "10.0.24.10", "envelope1@example.org", "sender1@example.org", "<m1@example.org>", "message #1", "API1", T0],
    ],
  );
  assert.deepEqual(recorded, [["queued", 2]]);
  assert.deepEqual(outbound.pending(), { jobs: 2, oldestFirstSeenAt: T0 });
});

test("a failed accept leaves neither the mail, its jobs nor any event", async (t) => {
  const { outbound, events } = open(t);
  await outbound.accept(outboundMessage(1));
  // Same job id as an existing job: the insert fails inside the transaction.
  const clash = { ...outboundMessage(2, ["x@example.test", "y@example.test"]), jobs: [{ id: "job-2-0", recipient: "x@example.test" }, { id: "job-1-0", recipient: "y@example.test" }] };
  await assert.rejects(outbound.accept(clash), { code: "SPOOL_WRITE_FAILED" });
  assert.deepEqual(events("deliveries").map((e) => e.to), ["rcpt1@example.test"]);
  assert.equal(outbound.pending().jobs, 1);
  assert.equal(outbound.readMessage("o2").kind, "quarantined", "o2 was never stored");
});

test("a deferred recipient waits for its next attempt, and its later success gives deferred then succeeded", async (t) => {
  const { outbound, events, clock } = open(t);
  await outbound.accept(outboundMessage(1));
  const [job] = outbound.claimDue(T0, 10);
  assert.ok(job);
  assert.deepEqual(outbound.claimDue(T0, 10), [], "a leased job is not handed out twice");
  assert.equal(job.message.apiData, "API1");
  clock.now = T0 + 1000;
  assert.equal(await outbound.deferred(job.id, { at: T0 + 60_000, attempts: 1, reason: "mx.example.test said: 450 4.2.1 try later" }), true);
  assert.deepEqual(outbound.claimDue(T0 + 59_999, 10), []);
  assert.equal(outbound.nextDueAt(), T0 + 60_000);
  const [again] = outbound.claimDue(T0 + 60_000, 10);
  assert.equal(again?.attempts, 1);
  assert.equal(again.lastError, "mx.example.test said: 450 4.2.1 try later");
  clock.now = T0 + 61_000;
  assert.equal(await outbound.delivered(job.id, { senderIp: "192.0.2.1", response: "250 ok" }), true);
  assert.deepEqual(
    events("deliveries").map((e) => [e.status, e.reason, e.senderIp, e.sourceIp, e.createdAt]),
    [
      ["queued", "", "", "10.0.24.10", T0],
      ["deferred", "mx.example.test said: 450 4.2.1 try later", "", "", T0 + 1000],
      ["succeeded", "", "192.0.2.1", "", T0 + 61_000],
    ],
  );
  assert.deepEqual(outbound.pending(), { jobs: 0, oldestFirstSeenAt: undefined });
  assert.equal(outbound.readMessage("o1").kind, "quarantined", "the mail is gone once its last job is done");
});

test("claims go on after the jobs in flight, and still find a job released or due again before them", async (t) => {
  const { outbound } = open(t);
  for (let n = 1; n <= 8; n++) await outbound.accept(outboundMessage(n));
  const claim = (limit: number) => outbound.claimDue(T0, limit).map((j) => j.id);
  assert.deepEqual([...claim(2), ...claim(2)], ["job-1-0", "job-2-0", "job-3-0", "job-4-0"], "in due order, none twice");
  outbound.release("job-2-0");
  assert.deepEqual(claim(2), ["job-2-0", "job-5-0"], "a released job is seen again, ahead of later ones");
  // Due again at once (a zero retry delay), before where the claims stopped: seen first as well.
  assert.equal(await outbound.deferred("job-1-0", { at: T0, attempts: 1, reason: "busy" }), true);
  assert.deepEqual(claim(2), ["job-1-0", "job-6-0"]);
  assert.deepEqual(claim(5), ["job-7-0", "job-8-0"]);
});

test("mail committed behind where claims stopped is not skipped by claims that keep finding later mail", async (t) => {
  const { outbound } = open(t);
  await outbound.accept(outboundMessage(2, undefined, T0 - 100));
  assert.deepEqual(outbound.claimDue(T0 - 100, 1).map((j) => j.id), ["job-2-0"]);
  await outbound.deferred("job-2-0", { at: T0 + 5, attempts: 1, reason: "451 busy" });
  // Accepted at T0 but committed only after a claim has moved past T0.
  const pending = outbound.accept(outboundMessage(3, undefined, T0));
  assert.deepEqual(outbound.claimDue(T0 + 6, 1).map((j) => j.id), ["job-2-0"]);
  await pending;
  await outbound.accept(outboundMessage(4, undefined, T0 + 10));
  assert.deepEqual(outbound.claimDue(T0 + 10, 1).map((j) => j.id), ["job-3-0"]);
});

test("a permanent failure gives failed and bounced with the error status, and removes the job", async (t) => {
  const { outbound, events } = open(t);
  await outbound.accept(outboundMessage(1));
  const [job] = outbound.claimDue(T0, 1);
  assert.ok(job);
  await outbound.failed(job.id, { reason: "550 5.1.1 <rcpt1@example.test>: user unknown", errorStatus: 2, enhancedStatus: "5.1.1" });
  assert.deepEqual(events("deliveries").map((e) => [e.status, e.reason]), [["queued", ""], ["failed", "550 5.1.1 <rcpt1@example.test>: user unknown"]]);
  const [bounce] = events("bounces");
  assert.ok(bounce?.status === "bounced");
  assert.deepEqual([bounce.to, bounce.errorStatus, bounce.enhancedStatus, bounce.reason], ["rcpt1@example.test", 2, "5.1.1", "550 5.1.1 <rcpt1@example.test>: user unknown"]);
  assert.equal(outbound.pending().jobs, 0);
  assert.equal(await outbound.bounceReported(job.id, { errorStatus: 2, enhancedStatus: "5.1.1", diagnostic: "x" }), false, "a failed job is not kept for bounce mails");
});

test("a bounce mail for a delivered job is attributed while it is remembered, and not after the retention", async (t) => {
  const { outbound, events, clock } = open(t);
  await outbound.accept(outboundMessage(1));
  const [job] = outbound.claimDue(T0, 1);
  assert.ok(job);
  await outbound.delivered(job.id, { senderIp: "192.0.2.1", response: "250 ok" });
  clock.now = T0 + 3_600_000;
  assert.equal(await outbound.bounceReported(job.id, { errorStatus: 5, enhancedStatus: "5.2.2", diagnostic: "552 5.2.2 mailbox full" }), true);
  assert.equal(await outbound.bounceReported("no-such-job", { errorStatus: 5, enhancedStatus: "", diagnostic: "" }), false);
  const [bounce] = events("bounces");
  assert.ok(bounce?.status === "bounced");
  assert.deepEqual([bounce.to, bounce.returnPath, bounce.from, bounce.subject, bounce.apiData, bounce.errorStatus, bounce.reason, bounce.createdAt], [
    "rcpt1@example.test", "envelope1@example.org", "sender1@example.org", "message #1", "API1", 5, "552 5.2.2 mailbox full", T0 + 3_600_000,
  ]);
  clock.now = T0 + 8 * 86_400_000;
  assert.equal(await outbound.pruneSent(7 * 86_400_000), 1);
  assert.equal(await outbound.bounceReported(job.id, { errorStatus: 5, enhancedStatus: "", diagnostic: "" }), false);
});

test("a mail whose stored bytes are damaged is quarantined and its recipients failed and bounced", async (t) => {
  const { spool, outbound, events } = open(t);
  await outbound.accept(outboundMessage(1, ["a@example.test", "b@example.test"]));
  spool.database.transaction(() => spool.database.prepare("UPDATE outbound_bodies SET raw = X'00'").run());
  const read = outbound.readMessage("o1");
  assert.equal(read.kind, "quarantined");
  assert.deepEqual(read.kind === "quarantined" && [read.reason, [...read.jobIds].sort()], ["checksum mismatch", ["job-1-0", "job-1-1"]]);
  assert.deepEqual(events("deliveries").map((e) => e.status), ["queued", "queued", "failed", "failed"]);
  assert.deepEqual(events("bounces").map((e) => e.status === "bounced" && e.errorStatus), [99, 99]);
  assert.equal(outbound.pending().jobs, 0);
  assert.equal(outbound.quarantinedJobs(), 2);
});
