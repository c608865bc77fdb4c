// Opening the spool's SQLite file: durable settings, one owning process, and a corrupt file moved aside
// (never deleted) so the relay can start on a fresh one.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SpoolError, describe, sqliteResultCode } from "./errors.ts";

export const DATABASE_FILE = "spool.sqlite";
/** The folder of body segment files (body-segments.ts): the rows point into them, so they move together. */
export const BODIES_DIR = "bodies";
/** Files SQLite may keep beside the database; they belong to it and move with it. */
const COMPANION_SUFFIXES = ["-wal", "-shm", "-journal"] as const;

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

export type SpoolLog = (level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>) => void;

/** The database failed its integrity check: what `quick_check` said. */
class CorruptDatabase extends Error {}

/**
 * Opens (creating if needed) `dir/spool.sqlite`. A file SQLite reports as corrupt or not a database,
 * or one failing `PRAGMA quick_check`, is moved with its -wal/-shm and body segments into `dir/quarantine/<time>/`
 * (with a reason.txt) and a fresh database is created; the move is logged. Any other failure
 * (locked by another process, permissions, disk) is thrown as a SpoolError: moving a healthy spool
 * aside because of a passing condition would strand its mail.
 */
export function openDatabaseFile(dir: string, log: SpoolLog, now: number): DatabaseSync {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, DATABASE_FILE);
  createPrivately(path);
  try {
    checkReadable(path);
  } catch (error) {
    if (!(error instanceof CorruptDatabase) && !isCorruption(error)) throw openFailure(path, error);
    const reason = describe(error);
    const moved = quarantineFiles(dir, path, reason, now);
    log("error", "spool database is unreadable; moved it to quarantine and started a fresh one", {
      quarantine: moved,
      reason,
    });
    createPrivately(path);
  }
  try {
    return openForWriting(path);
  } catch (error) {
    throw openFailure(path, error);
  }
}

/** Creates the file ourselves if missing so it is private (SQLite would use 0644); -wal copies its mode. */
function createPrivately(path: string): void {
  closeSync(openSync(path, "a", 0o600));
}

/**
 * Reads the whole database (with its WAL) through `quick_check` on a READ-ONLY connection: closing a
 * read-write connection deletes the WAL even when the database is damaged, which would destroy the
 * very commits a quarantine must keep. A read-only one leaves every file as it found it.
 */
function checkReadable(path: string): void {
  // timeout 0: a spool held by another process is reported at once, not waited for.
  const db = new DatabaseSync(path, { readOnly: true, timeout: 0 });
  try {
    const problems = db
      .prepare("PRAGMA quick_check")
      .all()
      .map((r) => String(r.quick_check));
    if (problems.length !== 1 || problems[0] !== "ok") {
      throw new CorruptDatabase(`quick_check failed: ${problems.slice(0, 5).join("; ")}`);
    }
  } finally {
    db.close();
  }
}

function openForWriting(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true, timeout: 0 });
  try {
    // One process owns a spool (the delivery loop's leases are in memory). EXCLUSIVE locking, set
    // before WAL is entered, keeps the WAL index in process memory and, once the write lock below is
    // taken, holds the lock until close: a second relay on the same directory fails to open.
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    const mode = db.prepare("PRAGMA journal_mode = WAL").get();
    if (mode?.journal_mode !== "wal") throw new Error(`could not enter WAL mode (journal_mode is ${String(mode?.journal_mode)})`);
    // WAL with synchronous=NORMAL survives a process crash, and SQLite still syncs around every
    // checkpoint, but a COMMIT does not wait for the disk. `250` promises the mail is on disk: the
    // Spool syncs the WAL itself after committing an accept, off the event loop (wal-sync.ts).
    db.exec("PRAGMA synchronous = NORMAL");
    // After a checkpoint, truncate a WAL grown by a burst of large mails back to 64 MiB.
    db.exec("PRAGMA journal_size_limit = 67108864");
    // Every write of a group commit runs in its own savepoint, so SQLite copies each page it first
    // touches there to a statement journal. That journal only serves a rollback inside the live
    // transaction (never recovery), so it belongs in memory: as a temp file it cost a pwrite per page,
    // a tenth of the relay's CPU.
    db.exec("PRAGMA temp_store = MEMORY");
    db.exec("BEGIN EXCLUSIVE; COMMIT");
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function isCorruption(error: unknown): boolean {
  const code = sqliteResultCode(error);
  return code === SQLITE_CORRUPT || code === SQLITE_NOTADB;
}

function openFailure(path: string, error: unknown): SpoolError {
  const code = sqliteResultCode(error);
  if (code === SQLITE_BUSY || code === SQLITE_LOCKED) {
    return new SpoolError("SPOOL_LOCKED", `spool ${path} is in use by another process`, { cause: error });
  }
  if (error instanceof SpoolError) return error;
  return new SpoolError("SPOOL_OPEN_FAILED", `cannot open spool ${path}: ${describe(error)}`, { cause: error });
}

/** Moves the database and its companions into a new quarantine folder; returns that folder. */
function quarantineFiles(dir: string, path: string, reason: string, now: number): string {
  const target = quarantineFolder(dir, "", now);
  // The body segments first: a crash between the moves must never leave them beside a database
  // that is not theirs (a fresh one would count no references to them). See body-segments.ts.
  for (const file of [join(dir, BODIES_DIR), path, ...COMPANION_SUFFIXES.map((s) => path + s)]) {
    if (existsSync(file)) renameSync(file, join(target, basename(file)));
  }
  writeFileSync(join(target, "reason.txt"), `${reason}\n`, { mode: 0o600 });
  // Make the moves themselves durable before a fresh database takes the old name.
  syncDirectory(target);
  syncDirectory(dir);
  return target;
}

/** Creates `dir/quarantine/<time>[-label][-n]/` (private, its entry synced) and returns it. */
export function quarantineFolder(dir: string, label: string, now: number): string {
  const base = join(dir, "quarantine");
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const stamp = new Date(now).toISOString().replaceAll(":", "-") + (label === "" ? "" : `-${label}`);
  let target = join(base, stamp);
  for (let n = 1; ; n++) {
    try {
      mkdirSync(target, { mode: 0o700 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      target = join(base, `${stamp}-${n}`);
    }
  }
  syncDirectory(base);
  return target;
}

/** fsync a directory so that entries created or renamed in it survive a power loss. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
