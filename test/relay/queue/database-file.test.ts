import assert from "node:assert/strict";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { DATABASE_FILE } from "../../../relay/queue/database-file.ts";
import { Spool } from "../../../relay/queue/store.ts";
import { inboundMessage } from "./messages.ts";

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-spool-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openLogged(t: TestContext, dir: string): { spool: Spool; logs: { msg: string; fields: Record<string, unknown> }[] } {
  const logs: { msg: string; fields: Record<string, unknown> }[] = [];
  const spool = Spool.open(dir, { log: (_level, msg, fields) => logs.push({ msg, fields }), now: () => Date.UTC(2025, 5, 1, 12, 30) });
  t.after(() => spool.close());
  return { spool, logs };
}

test("a file that is not a database is moved to quarantine with its WAL, and a fresh spool opens", async (t) => {
  const dir = tempDir(t);
  const garbage = Buffer.alloc(10_000, 0x5a);
  writeFileSync(join(dir, DATABASE_FILE), garbage);
  writeFileSync(join(dir, `${DATABASE_FILE}-wal`), "not a wal either");

  const { spool, logs } = openLogged(t, dir);
  const target = join(dir, "quarantine", "2025-06-01T12-30-00.000Z");
  assert.deepEqual(readdirSync(target).sort(), ["reason.txt", DATABASE_FILE, `${DATABASE_FILE}-shm`, `${DATABASE_FILE}-wal`]);
  assert.equal(readFileSync(join(target, `${DATABASE_FILE}-wal`), "utf8"), "not a wal either");
  assert.deepEqual(readFileSync(join(target, DATABASE_FILE)), garbage, "the unreadable file is kept byte for byte");
  assert.match(readFileSync(join(target, "reason.txt"), "utf8"), /not a database/);
  assert.equal(logs.length, 1);
  assert.deepEqual(logs[0]?.fields, { quarantine: target, reason: "file is not a database" });

  await spool.accept(inboundMessage("m1"));
  assert.equal(spool.counts().messages, 1);
});

test("a database damaged inside is caught at open, quarantined, and replaced", async (t) => {
  const dir = tempDir(t);
  const first = Spool.open(dir, { log: () => {} });
  await Promise.all([1, 2, 3].map((i) => first.accept(inboundMessage(`m${i}`, { size: 3000 }))));
  first.close();
  // Overwrite the start of a b-tree page: SQLite or quick_check must notice.
  const fd = openSync(join(dir, DATABASE_FILE), "r+");
  writeSync(fd, Buffer.alloc(100, 0xee), 0, 100, 4 * 4096);
  closeSync(fd);

  const { spool, logs } = openLogged(t, dir);
  assert.equal(logs.length, 1);
  assert.equal(readdirSync(join(dir, "quarantine")).length, 1);
  assert.equal(spool.counts().messages, 0);
});

test("a quarantine made in the same millisecond as an earlier one gets its own folder", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, DATABASE_FILE), Buffer.alloc(4096, 1));
  openLogged(t, dir).spool.close();
  writeFileSync(join(dir, DATABASE_FILE), Buffer.alloc(4096, 2));
  openLogged(t, dir);
  assert.deepEqual(readdirSync(join(dir, "quarantine")).sort(), ["2025-06-01T12-30-00.000Z", "2025-06-01T12-30-00.000Z-1"]);
});

test("a spool held by another owner is refused as locked, and left where it is", async (t) => {
  const dir = tempDir(t);
  const { spool } = openLogged(t, dir);
  await spool.accept(inboundMessage("m1"));
  assert.throws(() => Spool.open(dir, { log: () => assert.fail("nothing to log") }), { code: "SPOOL_LOCKED" });
  assert.equal(existsSync(join(dir, "quarantine")), false);
  assert.equal(spool.counts().messages, 1);
});
