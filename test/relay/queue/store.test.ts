import assert from "node:assert/strict";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { DATABASE_FILE } from "../../../relay/queue/database-file.ts";
import { newJobId, newMessageId } from "../../../relay/queue/ids.ts";
import { Spool } from "../../../relay/queue/store.ts";
import type { InboundJob, SpoolOptions } from "../../../relay/queue/store.ts";
import { inboundMessage, rawFor } from "./messages.ts";

const T0 = 1_700_000_000_000;
const FAR_FUTURE = Number.MAX_SAFE_INTEGER;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-spool-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Logged {
  readonly level: string;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

function open(t: TestContext, dir: string, options: SpoolOptions = {}): { spool: Spool; logs: Logged[] } {
  const logs: Logged[] = [];
  const spool = Spool.open(dir, { log: (level, msg, fields) => logs.push({ level, msg, fields }), ...options });
  t.after(() => spool.close());
  return { spool, logs };
}

/** Runs `body` on a second connection to a closed spool, to look at (or damage) its rows. */
function withDatabase<T>(dir: string, body: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(join(dir, DATABASE_FILE));
  try {
    return body(db);
  } finally {
    db.close();
  }
}

function schedule(job: InboundJob): object {
  const { id, seq, messageId, webhookKey, recipient, attempts, firstSeenAt, nextAttemptAt, lastError } = job;
  return { id, seq, messageId, webhookKey, recipient, attempts, firstSeenAt, nextAttemptAt, lastError };
}

test("accepted mail comes back as due jobs with its metadata, and its body intact", async (t) => {
  const { spool } = open(t, tempDir(t));
  const message = inboundMessage("m1", { receivedAt: T0, webhookKeys: ["ns/a", "ns/b"], recipients: ["x@example.com", "y@example.com"] });
  await spool.accept(message);

  const jobs = spool.claimDue(T0, 10);
  assert.deepEqual(
    jobs.map((j) => [j.id, j.webhookKey, j.recipient]),
    message.jobs.map((j) => [j.id, j.webhookKey, j.recipient]),
  );
  for (const job of jobs) {
    assert.equal(job.messageId, "m1");
    assert.equal(job.attempts, 0);
    assert.equal(job.firstSeenAt, T0);
    assert.equal(job.nextAttemptAt, T0);
    assert.equal(job.lastError, null);
    assert.deepEqual(job.message, {
      id: "m1",
      receivedAt: T0,
      envelopeFrom: "sender@example.net",
      recipients: ["x@example.com", "y@example.com"],
      remoteAddress: "192.0.2.10",
      size: 2048,
    });
  }
  const read = spool.readMessage("m1");
  assert.equal(read.kind, "ok");
  assert.ok(read.kind === "ok" && read.raw.equals(message.raw));
});

test("due jobs come earliest first, then in creation order, up to the limit", async (t) => {
  const { spool } = open(t, tempDir(t));
  await spool.accept(inboundMessage("late", { receivedAt: T0 + 500 }));
  await spool.accept(inboundMessage("early", { receivedAt: T0 }));
  await spool.accept(inboundMessage("tie", { receivedAt: T0 }));
  await spool.accept(inboundMessage("future", { receivedAt: T0 + 10_000 }));

  assert.deepEqual(spool.claimDue(T0 - 1, 10), []);
  assert.deepEqual(spool.claimDue(T0 + 1000, 2).map((j) => j.messageId), ["early", "tie"]);
  assert.deepEqual(spool.claimDue(T0 + 1000, 10).map((j) => j.messageId), ["late"]);
  assert.equal(spool.nextDueAt(), T0 + 10_000);
});

test("a claimed job is not handed out again until its outcome is committed or it is released", async (t) => {
  const { spool } = open(t, tempDir(t));
  await spool.accept(inboundMessage("m1", { receivedAt: T0 }));
  const [job] = spool.claimDue(T0, 10);
  assert.ok(job);
  assert.deepEqual(spool.claimDue(T0, 10), []);
  assert.equal(spool.nextDueAt(), undefined, "a leased job is not waiting to become due");

  const pending = spool.reschedule(job.id, { at: T0 + 60_000, attempts: 1, lastError: "HTTP 503" });
  assert.deepEqual(spool.claimDue(FAR_FUTURE, 10), [], "still leased until the reschedule commits");
  assert.equal(await pending, true);
  const [again] = spool.claimDue(T0 + 60_000, 10);
  assert.equal(again?.id, job.id);
  assert.equal(again?.attempts, 1);
  assert.equal(again?.lastError, "HTTP 503");

  spool.release(job.id);
  assert.equal(spool.claimDue(T0 + 60_000, 10)[0]?.id, job.id);
});

test("claims go on after the jobs in flight, and still find a job released or due again before them", async (t) => {
  const { spool } = open(t, tempDir(t));
  for (let n = 1; n <= 8; n++) await spool.accept(inboundMessage(`m${n}`, { receivedAt: T0 + n }));
  const jobOf = (m: string) => `${m}/default/orders/user@example.com`;
  const claim = (limit: number) => spool.claimDue(FAR_FUTURE, limit).map((j) => j.messageId);
  assert.deepEqual([...claim(2), ...claim(2)], ["m1", "m2", "m3", "m4"], "in due order, none twice");
  spool.release(jobOf("m2"));
  assert.deepEqual(claim(2), ["m2", "m5"], "a released job is seen again, ahead of later ones");
  // Due again before where the claims stopped: seen first as well.
  assert.equal(await spool.reschedule(jobOf("m1"), { at: T0, attempts: 1, lastError: "HTTP 503" }), true);
  assert.deepEqual(claim(2), ["m1", "m6"]);
  assert.deepEqual(claim(5), ["m7", "m8"]);
  // A mail received before where the claims stopped (the clock stepped back) is not skipped either.
  await spool.accept(inboundMessage("m9", { receivedAt: T0 + 9 }));
  await spool.accept(inboundMessage("m0", { receivedAt: T0 }));
  assert.deepEqual(claim(1), ["m0"]);
});

test("mail committed behind where claims stopped is not skipped, and a claim that starts over takes jobs in order", async (t) => {
  const { spool } = open(t, tempDir(t));
  const jobOf = (m: string) => `${m}/default/orders/user@example.com`;
  const claim = (now: number, limit: number) => spool.claimDue(now, limit).map((j) => j.messageId);
  await spool.accept(inboundMessage("mR", { receivedAt: T0 - 100 }));
  assert.deepEqual(claim(T0 - 100, 1), ["mR"]);
  await spool.reschedule(jobOf("mR"), { at: T0 + 5, attempts: 1, lastError: "HTTP 503" });
  // Accepted at T0 but committed only after a claim has moved past T0.
  const pending = ["mA", "mB", "mC"].map((m) => spool.accept(inboundMessage(m, { receivedAt: T0 })));
  assert.deepEqual(claim(T0 + 6, 1), ["mR"]);
  await Promise.all(pending);
  await spool.accept(inboundMessage("mD", { receivedAt: T0 + 7 }));
  assert.deepEqual(claim(T0 + 8, 2), ["mA", "mB"], "due order from the start, not the later mD first");
  assert.deepEqual(claim(T0 + 8, 2), ["mC", "mD"]);
});

test("many accepts in the same turn of the event loop share one transaction and are all durable", async (t) => {
  const dir = tempDir(t);
  const { spool } = open(t, dir);
  const before = spool.transactionCount;
  await Promise.all(Array.from({ length: 200 }, (_, i) => spool.accept(inboundMessage(`m${i}`, { webhookKeys: ["ns/a", "ns/b"] }))));
  assert.equal(spool.transactionCount - before, 1);
  spool.close();

  const { spool: reopened } = open(t, dir);
  assert.deepEqual(reopened.counts(), { messages: 200, pendingJobs: 400, deadJobs: 0, quarantinedJobs: 0 });
});

test("an accept settles after the WAL was synced; outcome writes commit without a sync", async (t) => {
  const { spool } = open(t, tempDir(t));
  const syncsBefore = spool.walSyncCount;
  await Promise.all([spool.accept(inboundMessage("m1")), spool.accept(inboundMessage("m2"))]);
  assert.equal(spool.walSyncCount - syncsBefore, 1, "one sync for the group, done before the accepts resolved");
  const [job] = spool.claimDue(T0, 1);
  assert.ok(job);
  assert.equal(await spool.delivered(job.id), true);
  assert.equal(spool.walSyncCount - syncsBefore, 1);
});

test("writes arriving within groupCommitDelayMs share one transaction", async (t) => {
  const { spool } = open(t, tempDir(t), { groupCommitDelayMs: 250 });
  const before = spool.transactionCount;
  const first = spool.accept(inboundMessage("m1"));
  await nextTurn();
  const second = spool.accept(inboundMessage("m2"));
  await Promise.all([first, second]);
  assert.equal(spool.transactionCount - before, 1);
});

test("a write that fails does not fail the others in its group", async (t) => {
  const { spool } = open(t, tempDir(t));
  await spool.accept(inboundMessage("dup"));
  const results = await Promise.allSettled([
    spool.accept(inboundMessage("a")),
    spool.accept(inboundMessage("dup")),
    spool.accept(inboundMessage("b")),
  ]);
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  const failure = results[1];
  assert.ok(failure?.status === "rejected");
  assert.equal((failure.reason as { code?: string }).code, "SPOOL_WRITE_FAILED");
  assert.match(String(failure.reason), /UNIQUE constraint failed/);
  assert.deepEqual(spool.counts(), { messages: 3, pendingJobs: 3, deadJobs: 0, quarantinedJobs: 0 });
});

test("a mail the spool cannot store is refused with SPOOL_INVALID_INPUT", async (t) => {
  const { spool } = open(t, tempDir(t));
  const noJobs = { ...inboundMessage("m1"), jobs: [] };
  await assert.rejects(spool.accept(noJobs), { code: "SPOOL_INVALID_INPUT", message: /at least one job/ });
  const twice = inboundMessage("m2", { webhookKeys: ["ns/a", "ns/a"] });
  await assert.rejects(spool.accept(twice), { code: "SPOOL_INVALID_INPUT", message: /appears twice/ });
  await assert.rejects(spool.accept({ ...inboundMessage("m3"), receivedAt: 1.5 }), { code: "SPOOL_INVALID_INPUT" });
  await assert.rejects(spool.reschedule("x", { at: Number.NaN, attempts: 1, lastError: "" }), { code: "SPOOL_INVALID_INPUT" });
  assert.throws(() => spool.claimDue(T0, 0), { code: "SPOOL_INVALID_INPUT" });
  assert.equal(spool.counts().messages, 0);
});

test("a delivered job is removed, and its mail goes with its last job", async (t) => {
  const { spool } = open(t, tempDir(t));
  await spool.accept(inboundMessage("m1", { webhookKeys: ["ns/a", "ns/b"] }));
  const [first, second] = spool.claimDue(FAR_FUTURE, 10);
  assert.ok(first && second);

  assert.equal(await spool.delivered(first.id), true);
  assert.deepEqual(spool.counts(), { messages: 1, pendingJobs: 1, deadJobs: 0, quarantinedJobs: 0 });
  assert.equal(spool.readMessage("m1").kind, "ok");

  assert.equal(await spool.delivered(second.id), true);
  assert.deepEqual(spool.counts(), { messages: 0, pendingJobs: 0, deadJobs: 0, quarantinedJobs: 0 });
  assert.equal(await spool.delivered(second.id), false, "an outcome for a job that is gone is reported, not thrown");
});

test("a job given up is kept in dead jobs with its reason, and the body is dropped with the last job", async (t) => {
  const dir = tempDir(t);
  const { spool } = open(t, dir, { now: () => T0 + 5 });
  await spool.accept(inboundMessage("m1", { receivedAt: T0 }));
  const [job] = spool.claimDue(FAR_FUTURE, 10);
  assert.ok(job);
  await spool.reschedule(job.id, { at: T0 + 1, attempts: 3, lastError: "connect ECONNREFUSED" });
  assert.equal(await spool.giveUp(job.id, "retry period of 3 days ended after 3 attempts"), true);
  assert.equal(await spool.giveUp(job.id, "again"), false);
  assert.deepEqual(spool.counts(), { messages: 0, pendingJobs: 0, deadJobs: 1, quarantinedJobs: 0 });
  assert.deepEqual(spool.claimDue(FAR_FUTURE, 10), []);
  spool.close();

  const [dead, bodies] = withDatabase(dir, (db) => [
    db.prepare("SELECT * FROM inbound_dead_jobs").all(),
    db.prepare("SELECT count(*) AS n FROM inbound_bodies").get()?.n,
  ]);
  assert.equal(dead.length, 1);
  assert.equal(dead[0]?.id, job.id);
  assert.equal(dead[0]?.message_id, "m1");
  assert.equal(dead[0]?.attempts, 3);
  assert.equal(dead[0]?.last_error, "connect ECONNREFUSED");
  assert.equal(dead[0]?.reason, "retry period of 3 days ended after 3 attempts");
  assert.equal(dead[0]?.envelope_from, "sender@example.net");
  assert.equal(dead[0]?.given_up_at, T0 + 5);
  assert.equal(bodies, 0);
});

test("a restart resumes every job exactly: attempts, next attempt, first seen, last error and order", async (t) => {
  const dir = tempDir(t);
  const { spool } = open(t, dir);
  for (let i = 0; i < 5; i++) await spool.accept(inboundMessage(`m${i}`, { receivedAt: T0 + i, webhookKeys: ["ns/a", "ns/b"] }));
  const claimed = spool.claimDue(FAR_FUTURE, 100);
  for (const [i, job] of claimed.entries()) {
    if (i % 3 === 0) await spool.reschedule(job.id, { at: T0 + 60_000 * i, attempts: i, lastError: `HTTP 5${i}` });
    else spool.release(job.id);
  }
  const before = spool.claimDue(FAR_FUTURE, 100).map(schedule);
  const pendingBefore = spool.pendingByWebhook();
  spool.close();

  const { spool: reopened } = open(t, dir);
  assert.deepEqual(reopened.claimDue(FAR_FUTURE, 100).map(schedule), before);
  assert.deepEqual(reopened.pendingByWebhook(), pendingBefore);
  assert.equal(before.length, 10);
});

test("jobs of excluded webhooks are neither handed out nor waited for", async (t) => {
  const { spool } = open(t, tempDir(t));
  await spool.accept(inboundMessage("m1", { receivedAt: T0, webhookKeys: ["ns/suspended"] }));
  await spool.accept(inboundMessage("m2", { receivedAt: T0 + 100, webhookKeys: ["ns/active", "ns/other"] }));
  const exclude = { excludeWebhookKeys: new Set(["ns/suspended"]) };

  assert.equal(spool.nextDueAt(exclude), T0 + 100);
  assert.equal(spool.nextDueAt({ ...exclude, onlyWebhookKeys: new Set(["ns/suspended"]) }), undefined);
  assert.deepEqual(spool.claimDue(FAR_FUTURE, 10, { onlyWebhookKeys: new Set(["ns/other"]) }).map((j) => j.webhookKey), ["ns/other"]);
  assert.deepEqual(spool.claimDue(FAR_FUTURE, 10, exclude).map((j) => j.webhookKey), ["ns/active"]);
  assert.deepEqual(spool.claimDue(FAR_FUTURE, 10).map((j) => j.webhookKey), ["ns/suspended"]);
});

test("pending jobs and the oldest first-seen time are reported per webhook", async (t) => {
  const { spool } = open(t, tempDir(t));
  await spool.accept(inboundMessage("m1", { receivedAt: T0 + 50, webhookKeys: ["ns/a"], recipients: ["x@example.com", "y@example.com"] }));
  await spool.accept(inboundMessage("m2", { receivedAt: T0, webhookKeys: ["ns/a", "ns/b"] }));
  assert.deepEqual(
    spool.pendingByWebhook(),
    new Map([
      ["ns/a", { pending: 3, oldestFirstSeenAt: T0 }],
      ["ns/b", { pending: 1, oldestFirstSeenAt: T0 }],
    ]),
  );
  const [job] = spool.claimDue(FAR_FUTURE, 1, { onlyWebhookKeys: new Set(["ns/b"]) });
  assert.ok(job);
  await spool.delivered(job.id);
  assert.deepEqual(spool.pendingByWebhook(), new Map([["ns/a", { pending: 3, oldestFirstSeenAt: T0 }]]));
  assert.deepEqual(spool.counts(), { messages: 2, pendingJobs: 3, deadJobs: 0, quarantinedJobs: 0 });
});

/** Where a closed spool keeps a message's body: its segment file and offset, or null if in the database. */
function bodyPlace(dir: string, messageId: string): { file: string; offset: number; size: number } | null {
  const row = withDatabase(dir, (db) => db.prepare("SELECT body_segment, body_offset, size FROM inbound_messages WHERE id = ?").get(messageId));
  if (row?.body_segment === null || row === undefined) return null;
  return { file: join(dir, "bodies", `${String(row.body_segment)}.seg`), offset: Number(row.body_offset), size: Number(row.size) };
}

/** Flips one byte of a stored body, wherever it is kept; returns the damaged bytes. */
function damageBody(dir: string, messageId: string): Buffer {
  const place = bodyPlace(dir, messageId);
  if (place === null) {
    const raw = withDatabase(dir, (db) => db.prepare("SELECT raw FROM inbound_bodies WHERE message_id = ?").get(messageId)?.raw);
    const damaged = Buffer.from(raw as Uint8Array);
    damaged[10] = damaged[10]! ^ 0xff;
    withDatabase(dir, (db) => db.prepare("UPDATE inbound_bodies SET raw = ? WHERE message_id = ?").run(damaged, messageId));
    return damaged;
  }
  const damaged = readFileSync(place.file).subarray(place.offset, place.offset + place.size);
  damaged[10] = damaged[10]! ^ 0xff;
  const fd = openSync(place.file, "r+");
  writeSync(fd, damaged, 0, damaged.length, place.offset);
  closeSync(fd);
  return Buffer.from(damaged);
}

for (const storage of ["a segment file", "the database"] as const) {
  test(`a body in ${storage} that no longer matches its checksum is quarantined with all its jobs, not deleted`, async (t) => {
    const dir = tempDir(t);
    // One mail per segment, so that "bad" is not in the segment being written (whose bodies stay).
    const first = open(t, dir, { segmentBytes: 1000 });
    await first.spool.accept(inboundMessage("bad", { webhookKeys: ["ns/a", "ns/b"] }));
    await first.spool.accept(inboundMessage("good"));
    if (storage === "the database") await first.spool.moveQueuedBodies(FAR_FUTURE, 10);
    first.spool.close();
    assert.equal(bodyPlace(dir, "bad") === null, storage === "the database");
    const tampered = damageBody(dir, "bad");

    const { spool, logs } = open(t, dir);
    const jobs = spool.claimDue(FAR_FUTURE, 10).filter((j) => j.messageId === "bad");
    const result = spool.readMessage("bad");
    assert.ok(result.kind === "quarantined");
    assert.equal(result.reason, "checksum mismatch");
    assert.deepEqual([...result.jobIds].sort(), jobs.map((j) => j.id).sort());
    assert.equal(logs.length, 1);
    assert.deepEqual(logs[0]?.fields, { messageId: "bad", reason: "checksum mismatch", jobs: 2 });
    assert.deepEqual(spool.counts(), { messages: 1, pendingJobs: 1, deadJobs: 0, quarantinedJobs: 2 });
    for (const job of jobs) assert.equal(await spool.delivered(job.id), false);
    assert.equal(spool.readMessage("good").kind, "ok");
    spool.close();

    const [kept, keptJobs] = withDatabase(dir, (db) => [
      db.prepare("SELECT * FROM inbound_quarantined_messages").all(),
      db.prepare("SELECT id, webhook_key, reason FROM inbound_quarantined_jobs ORDER BY seq").all(),
    ]);
    assert.equal(kept.length, 1);
    assert.equal(kept[0]?.id, "bad");
    assert.equal(kept[0]?.reason, "checksum mismatch");
    assert.deepEqual(Buffer.from(kept[0]?.raw as Uint8Array), tampered, "the damaged bytes are kept as evidence");
    assert.deepEqual(keptJobs.map((r) => [r.id, r.webhook_key, r.reason]), jobs.map((j) => [j.id, j.webhookKey, "checksum mismatch"]));
  });
}

test("a missing body is quarantined like a damaged one", async (t) => {
  const dir = tempDir(t);
  const first = open(t, dir);
  await first.spool.accept(inboundMessage("m1"));
  first.spool.close();
  const place = bodyPlace(dir, "m1");
  assert.ok(place);
  unlinkSync(place.file);

  const { spool } = open(t, dir);
  const result = spool.readMessage("m1");
  assert.equal(result.kind, "quarantined");
  assert.equal(result.kind === "quarantined" && result.reason, "message body missing");
  assert.equal(spool.counts().quarantinedJobs, 1);
});

/** Waits (up to 2 s) until `check` holds. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(10);
  assert.ok(check(), what);
}

test("fresh bodies go to segment files, which are deleted once no queued mail needs them", async (t) => {
  const dir = tempDir(t);
  const { spool } = open(t, dir, { segmentBytes: 3000 });
  for (let i = 0; i < 6; i++) await spool.accept(inboundMessage(`m${i}`));
  const segmentFiles = () => readdirSync(join(dir, "bodies")).sort();
  assert.ok(segmentFiles().length >= 3, `small segments roll over: ${segmentFiles().join(", ")}`);
  for (const job of spool.claimDue(FAR_FUTURE, 100)) {
    assert.equal(spool.readMessage(job.messageId).kind, "ok");
    await spool.delivered(job.id);
  }
  await eventually(() => segmentFiles().length === 1, `only the segment being written is left: ${segmentFiles().join(", ")}`);
  assert.equal(spool.bodySegmentCount, 1);
});

test("a segment is deleted only after the commit that freed it was synced", async (t) => {
  const dir = tempDir(t);
  const { spool } = open(t, dir, { segmentBytes: 1000 });
  await spool.accept(inboundMessage("m0"));
  await spool.accept(inboundMessage("m1"));
  const [job] = spool.claimDue(FAR_FUTURE, 1);
  assert.equal(job?.messageId, "m0");
  const file = join(dir, "bodies", "1.seg");
  const syncsBefore = spool.walSyncCount;
  assert.equal(await spool.delivered(job.id), true);
  // The deletion is committed but not synced (outcome writes are not): the bytes must stay until it is.
  assert.equal(existsSync(file), true);
  await eventually(() => !existsSync(file), "deleted once a sync covered the commit");
  assert.ok(spool.walSyncCount > syncsBefore);
});

test("segments found beside a database that does not know them are quarantined, never deleted", async (t) => {
  const dir = tempDir(t);
  const first = open(t, dir);
  await first.spool.accept(inboundMessage("m1"));
  first.spool.close();
  // As if the database had been moved aside (a crash mid-quarantine, an operator) but not its bodies.
  for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, DATABASE_FILE + suffix), { force: true });

  const { logs } = open(t, dir, { now: () => T0 });
  const [folder] = readdirSync(join(dir, "quarantine"));
  assert.match(String(folder), /unclaimed-bodies/);
  assert.deepEqual(readdirSync(join(dir, "quarantine", String(folder))), ["1.seg"]);
  assert.equal(logs[0]?.level, "error");
  assert.deepEqual(logs[0]?.fields, { folder: join(dir, "quarantine", String(folder)), segments: 1 });
});

test("bodies of mail that stays queued move into the database, and their segments go", async (t) => {
  const dir = tempDir(t);
  const { spool } = open(t, dir, { segmentBytes: 1000 });
  for (let i = 0; i < 3; i++) await spool.accept(inboundMessage(`m${i}`));
  const before = readdirSync(join(dir, "bodies")).length;
  assert.ok(before >= 3);
  assert.equal(await spool.moveQueuedBodies(T0 + 1, 100), before - 1, "all but the segment being written");
  assert.equal(readdirSync(join(dir, "bodies")).length, before, "deleted only once the move's commit is synced");
  await eventually(() => readdirSync(join(dir, "bodies")).length === 1, "then deleted");
  for (const job of spool.claimDue(FAR_FUTURE, 100)) {
    const read = spool.readMessage(job.messageId);
    assert.equal(read.kind, "ok");
    assert.deepEqual(read.kind === "ok" && read.raw, rawFor(job.messageId));
  }
});

test("segment files no row points into (left by a crash) are deleted at start-up; referenced ones are kept", async (t) => {
  const dir = tempDir(t);
  const first = open(t, dir);
  await first.spool.accept(inboundMessage("m1"));
  first.spool.close();
  writeFileSync(join(dir, "bodies", "999.seg"), "orphan");
  const { spool } = open(t, dir);
  assert.deepEqual(readdirSync(join(dir, "bodies")).filter((f) => f === "999.seg"), []);
  assert.equal(spool.readMessage("m1").kind, "ok");
});

test("reading a mail that is not in the spool moves nothing", (t) => {
  const { spool, logs } = open(t, tempDir(t));
  assert.deepEqual(spool.readMessage("nope"), { kind: "quarantined", reason: "message row missing", jobIds: [] });
  assert.deepEqual(spool.counts(), { messages: 0, pendingJobs: 0, deadJobs: 0, quarantinedJobs: 0 });
  assert.deepEqual(logs, []);
});

test("jobs whose mail metadata cannot be read are quarantined instead of handed out", async (t) => {
  const dir = tempDir(t);
  const first = open(t, dir);
  await first.spool.accept(inboundMessage("broken", { receivedAt: T0 }));
  await first.spool.accept(inboundMessage("fine", { receivedAt: T0 + 1 }));
  first.spool.close();
  withDatabase(dir, (db) => db.exec("UPDATE inbound_messages SET recipients = 'not json' WHERE id = 'broken'"));

  const { spool, logs } = open(t, dir);
  assert.deepEqual(spool.claimDue(FAR_FUTURE, 10).map((j) => j.messageId), ["fine"]);
  assert.equal(logs[0]?.fields.reason, "message recipients unreadable");
  assert.deepEqual(spool.counts(), { messages: 1, pendingJobs: 1, deadJobs: 0, quarantinedJobs: 1 });
});

test("close commits the writes still queued, and the spool refuses work afterwards", async (t) => {
  const dir = tempDir(t);
  const { spool } = open(t, dir);
  const accepted = spool.accept(inboundMessage("m1"));
  spool.close();
  await accepted;
  await assert.rejects(spool.accept(inboundMessage("m2")), { code: "SPOOL_CLOSED" });
  assert.throws(() => spool.claimDue(T0, 1), { code: "SPOOL_CLOSED" });

  const { spool: reopened } = open(t, dir);
  assert.equal(reopened.counts().messages, 1);
});

test("the spool directory is private and the database file readable by its owner only", (t) => {
  const dir = join(tempDir(t), "nested", "spool");
  open(t, dir);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, DATABASE_FILE)).mode & 0o777, 0o600);
});

test("generated ids are unique, URL-safe, and job ids look like Standard Webhooks message ids", () => {
  const ids = new Set(Array.from({ length: 1000 }, newJobId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^msg_[A-Za-z0-9_-]{22}$/);
  assert.match(newMessageId(), /^[A-Za-z0-9_-]{16}$/);
});

test("the record of a given-up job is forgotten after its retention, not before", async (t) => {
  const dir = tempDir(t);
  const { spool } = open(t, dir, { now: () => T0 + 5 });
  await spool.accept(inboundMessage("m1", { receivedAt: T0 }));
  const [job] = spool.claimDue(FAR_FUTURE, 10);
  assert.ok(job);
  await spool.giveUp(job.id, "410 Gone");
  assert.equal(await spool.pruneDeadJobs(T0 + 5), 0, "given up at T0+5: not older than T0+5");
  assert.equal(spool.counts().deadJobs, 1);
  assert.equal(await spool.pruneDeadJobs(T0 + 6), 1);
  assert.equal(spool.counts().deadJobs, 0);
  spool.close();
});
