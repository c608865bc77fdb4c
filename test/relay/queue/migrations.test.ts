import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { DATABASE_FILE } from "../../../relay/queue/database-file.ts";
import { migrations } from "../../../relay/queue/migrations.ts";
import { Spool } from "../../../relay/queue/store.ts";

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-spool-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function versions(dir: string): unknown[] {
  const db = new DatabaseSync(join(dir, DATABASE_FILE));
  try {
    return db.prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").all().map((r) => ({ ...r }));
  } finally {
    db.close();
  }
}

test("migrations are numbered 1, 2, 3… without gaps", () => {
  assert.deepEqual(
    migrations.map((m) => m.version),
    migrations.map((_, i) => i + 1),
  );
});

test("a new spool records every migration once, and reopening applies none again", (t) => {
  const dir = tempDir(t);
  Spool.open(dir, { now: () => 1234 }).close();
  Spool.open(dir, { now: () => 5678 }).close();
  assert.deepEqual(
    versions(dir),
    migrations.map((m) => ({ version: m.version, name: m.name, applied_at: 1234 })),
  );
});

test("a spool written by a newer mailhook is refused and left untouched", (t) => {
  const dir = tempDir(t);
  Spool.open(dir).close();
  const db = new DatabaseSync(join(dir, DATABASE_FILE));
  db.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 0)");
  db.close();
  const before = readFileSync(join(dir, DATABASE_FILE));

  assert.throws(() => Spool.open(dir, { log: () => assert.fail("nothing to log") }), {
    code: "SPOOL_SCHEMA_TOO_NEW",
    message: /version 999/,
  });
  assert.deepEqual(readFileSync(join(dir, DATABASE_FILE)), before);
  assert.equal(versions(dir).length, migrations.length + 1);
});
