import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { WalSync } from "../../../relay/queue/wal-sync.ts";

function walFile(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-walsync-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "spool.db-wal");
  writeFileSync(path, "frames");
  return path;
}

/** Resolves with the order in which `done` callbacks ran and what they were given. */
function recorder() {
  const calls: { name: string; error: Error | undefined }[] = [];
  const settled = (name: string) => (error: Error | undefined) => calls.push({ name, error });
  return { calls, settled };
}

test("commits made while a sync runs share the next sync, and each settles only after its own", async (t) => {
  const sync = new WalSync(walFile(t));
  t.after(() => sync.close());
  const { calls, settled } = recorder();
  const all = Promise.all(
    ["first", "second", "third"].map((name) => new Promise<void>((resolve) => sync.afterCommit((e) => (settled(name)(e), resolve())))),
  );
  assert.equal(calls.length, 0, "nothing settles before its sync returned");
  await all;
  assert.deepEqual(calls.map((c) => c.name), ["first", "second", "third"]);
  assert.ok(calls.every((c) => c.error === undefined));
  assert.equal(sync.syncs, 2, "the first commit started a sync alone; the two made during it shared the next");
});

test("close syncs and settles what is still waiting before it returns", (t) => {
  const sync = new WalSync(walFile(t));
  const { calls, settled } = recorder();
  sync.afterCommit(settled("in flight"));
  sync.afterCommit(settled("waiting"));
  sync.close();
  assert.deepEqual(calls.map((c) => [c.name, c.error]), [["in flight", undefined], ["waiting", undefined]]);
  sync.afterCommit(settled("after close"));
  assert.match(String(calls[2]?.error?.message), /closed/);
});

test("after a failed sync nothing is promised durable again", async () => {
  // fdatasync on /dev/null fails (EINVAL), standing in for a disk that reports an I/O error.
  const sync = new WalSync("/dev/null");
  try {
    const first = await new Promise<Error | undefined>((resolve) => sync.afterCommit(resolve));
    assert.match(String(first?.message), /fdatasync of the spool failed/);
    assert.equal(sync.failure, first?.message, "the failure is reported (the relay's /readyz says it)");
    const syncsBefore = sync.syncs;
    const later = await new Promise<Error | undefined>((resolve) => sync.afterCommit(resolve));
    assert.equal(later, first, "later commits get the same error at once");
    assert.equal(sync.syncs, syncsBefore, "and no new sync is tried: one that succeeded now could hide lost pages");
  } finally {
    sync.close();
  }
});
