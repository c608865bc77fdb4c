// The durable spool: accepted inbound mail, its delivery jobs and their retry schedule, in one SQLite
// database (node:sqlite, synchronous). The relay answers `250` only after `accept()` resolved, and a
// restart resumes every job exactly where it was: attempts, next attempt and first-seen time are columns.
//
// Writes are group-committed: every write (accept and the delivery outcomes) is queued, and the queue
// is committed as ONE transaction on the next `setImmediate` (or after `groupCommitDelayMs`). Each write
// runs in its own SAVEPOINT inside it, so one bad write fails alone; a failed COMMIT fails them all.
// COMMIT itself does not wait for the disk (synchronous=NORMAL): a durable write (an accept) settles
// only after the WAL file was then fdatasync'ed on libuv's thread pool (see wal-sync.ts). So the event
// loop never blocks on an fsync, and the commits made while one sync runs share the next one.
//
// One process owns a spool (the database is opened with an exclusive lock). That is why claims are
// in-memory leases: `claimDue` hands a job out once; it is handed out again only after its outcome was
// committed (reschedule) or `release` was called, or after a restart (a crash mid-post redelivers it:
// delivery is at-least-once, and the job id is the receiver's de-duplication key).
import type { DatabaseSync, SQLOutputValue, StatementSync } from "node:sqlite";
import { openDatabaseFile, quarantineFolder, syncDirectory } from "./database-file.ts";
import type { SpoolLog } from "./database-file.ts";
import { SpoolError, describe } from "./errors.ts";
import { migrate } from "./migrations.ts";
import type { SharedDatabase } from "./shared-database.ts";
import { BodySegments } from "./body-segments.ts";
import { clip, isText, sha256 } from "./values.ts";
import { WalSync } from "./wal-sync.ts";

export type { SpoolLog } from "./database-file.ts";

export interface SpoolOptions {
  /**
   * How long a write waits for others to share its transaction. 0 (the default) commits on the next
   * `setImmediate`: everything that arrived in the same turn of the event loop shares one commit,
   * without adding latency. A few milliseconds trade latency for fewer, larger commits.
   */
  readonly groupCommitDelayMs?: number;
  /** Where the spool reports quarantines. Defaults to one JSON line on stderr. */
  readonly log?: SpoolLog;
  /** Clock for the spool's own timestamps (give-up, quarantine, migrations). */
  readonly now?: () => number;
  /** Size at which a new body segment file is started (tests make it small). */
  readonly segmentBytes?: number;
}

export interface InboundJobInput {
  /** Stable across retries: it is the `webhook-id` header. See `newJobId()`. */
  readonly id: string;
  readonly webhookKey: string;
  /** The envelope recipient this post is for. */
  readonly recipient: string;
}

export interface InboundMessageInput {
  readonly id: string;
  /** Also each job's first-seen time and first attempt time. */
  readonly receivedAt: number;
  readonly envelopeFrom: string;
  readonly recipients: readonly string[];
  readonly remoteAddress: string;
  readonly raw: Uint8Array;
  /** At least one: mail that matches no webhook is refused, never spooled. */
  readonly jobs: readonly InboundJobInput[];
}

export interface InboundMessageMeta {
  readonly id: string;
  readonly receivedAt: number;
  readonly envelopeFrom: string;
  readonly recipients: readonly string[];
  readonly remoteAddress: string;
  /** Bytes of the raw mail. */
  readonly size: number;
}

export interface InboundJob {
  readonly id: string;
  /** Creation order. */
  readonly seq: number;
  readonly messageId: string;
  readonly webhookKey: string;
  readonly recipient: string;
  readonly attempts: number;
  readonly firstSeenAt: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly message: InboundMessageMeta;
}

/** Which webhooks' jobs to consider; both may be given. */
export interface DueFilter {
  /** Skip these (suspended, or at their concurrency limit). */
  readonly excludeWebhookKeys?: ReadonlySet<string>;
  /** Only these (e.g. the webhooks currently configured). */
  readonly onlyWebhookKeys?: ReadonlySet<string>;
}

export type ReadMessageResult =
  | { readonly kind: "ok"; readonly raw: Buffer }
  /** The mail could not be read intact; it and all its jobs were moved to quarantine. */
  | { readonly kind: "quarantined"; readonly reason: string; readonly jobIds: readonly string[] };

export interface Reschedule {
  readonly at: number;
  /** Attempts made so far, including the one that just failed. */
  readonly attempts: number;
  readonly lastError: string;
}

/** What a lease remembers of its job: enough to know whether giving it back puts it behind a cursor. */
interface LeasedAt {
  readonly webhookKey: string;
  readonly at: number;
}

export interface WebhookBacklog {
  readonly pending: number;
  readonly oldestFirstSeenAt: number;
}

export interface SpoolCounts {
  readonly messages: number;
  readonly pendingJobs: number;
  readonly deadJobs: number;
  readonly quarantinedJobs: number;
}

/** How long an outcome write waits for others to share its (unsynced) commit. */
const OUTCOME_COMMIT_DELAY_MS = 10;

/** Given-up jobs deleted per prune transaction. */
export const DEAD_PRUNE_CHUNK = 5000;

/** Due jobs with their mail's metadata, in claim order (see claimDue). */
function dueJobs(where: string): string {
  return `SELECT j.seq, j.id, j.message_id, j.webhook_key, j.recipient, j.attempts, j.first_seen_at,
      j.next_attempt_at, j.last_error, m.id AS m_id, m.received_at, m.envelope_from, m.recipients,
      m.remote_address, m.size
    FROM inbound_jobs j LEFT JOIN inbound_messages m ON m.id = j.message_id
    WHERE ${where} ORDER BY j.next_attempt_at, j.seq`;
}

const SQL = {
  begin: "BEGIN IMMEDIATE",
  commit: "COMMIT",
  rollback: "ROLLBACK",
  savepoint: "SAVEPOINT write",
  releaseSavepoint: "RELEASE write",
  rollbackToSavepoint: "ROLLBACK TO write",
  insertMessage: `INSERT INTO inbound_messages (id, received_at, envelope_from, recipients, remote_address, size, sha256,
      body_segment, body_offset)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertBody: "INSERT INTO inbound_bodies (message_id, raw) VALUES (?, ?)",
  segmentReferences: `SELECT body_segment AS n, count(*) AS refs FROM inbound_messages
    WHERE body_segment IS NOT NULL GROUP BY body_segment`,
  segmentHigh: "SELECT value FROM spool_marks WHERE name = 'body_segment_high'",
  recordSegmentHigh: "UPDATE spool_marks SET value = max(value, ?) WHERE name = 'body_segment_high'",
  bodiesInSegments: `SELECT id, body_segment, body_offset, size FROM inbound_messages
    WHERE body_segment IS NOT NULL AND body_segment <> ? AND received_at < ? LIMIT ?`,
  detachBody: "UPDATE inbound_messages SET body_segment = NULL, body_offset = NULL WHERE id = ? AND body_segment = ?",
  insertJob: `INSERT INTO inbound_jobs (id, message_id, webhook_key, recipient, first_seen_at, next_attempt_at)
    VALUES (?, ?, ?, ?, ?, ?)`,
  webhookKeys: "SELECT webhook_key FROM inbound_pending",
  dueForWebhook: dueJobs("j.webhook_key = ? AND j.next_attempt_at <= ?"),
  dueForWebhookAfter: dueJobs("j.webhook_key = ? AND j.next_attempt_at <= ? AND (j.next_attempt_at, j.seq) > (?, ?)"),
  nextForWebhook: `SELECT id, next_attempt_at FROM inbound_jobs WHERE webhook_key = ?
    ORDER BY next_attempt_at, seq`,
  readMessage: `SELECT m.sha256, m.size, m.body_segment, m.body_offset, b.raw
    FROM inbound_messages m LEFT JOIN inbound_bodies b ON b.message_id = m.id WHERE m.id = ?`,
  reschedule: "UPDATE inbound_jobs SET next_attempt_at = ?, attempts = ?, last_error = ? WHERE id = ?",
  deleteJob: "DELETE FROM inbound_jobs WHERE id = ? RETURNING message_id",
  deleteMessageIfDone: `DELETE FROM inbound_messages
    WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM inbound_jobs WHERE message_id = ?1) RETURNING body_segment`,
  expiredJobs: `SELECT id FROM inbound_jobs WHERE webhook_key = ? AND first_seen_at < ? ORDER BY first_seen_at LIMIT ?`,
  recordDead: `INSERT INTO inbound_dead_jobs (id, seq, message_id, webhook_key, recipient, attempts, first_seen_at,
      last_error, received_at, envelope_from, remote_address, reason, given_up_at)
    SELECT j.id, j.seq, j.message_id, j.webhook_key, j.recipient, j.attempts, j.first_seen_at, j.last_error,
      m.received_at, m.envelope_from, m.remote_address, ?, ?
    FROM inbound_jobs j LEFT JOIN inbound_messages m ON m.id = j.message_id WHERE j.id = ?`,
  quarantineJobs: `INSERT INTO inbound_quarantined_jobs (seq, id, message_id, webhook_key, recipient, attempts,
      first_seen_at, next_attempt_at, last_error, reason, quarantined_at)
    SELECT seq, id, message_id, webhook_key, recipient, attempts, first_seen_at, next_attempt_at, last_error, ?, ?
    FROM inbound_jobs WHERE message_id = ? ORDER BY seq`,
  quarantineMessage: `INSERT INTO inbound_quarantined_messages (id, received_at, envelope_from, recipients,
      remote_address, size, sha256, raw, reason, quarantined_at)
    SELECT m.id, m.received_at, m.envelope_from, m.recipients, m.remote_address, m.size, m.sha256,
      coalesce(b.raw, ?), ?, ?
    FROM inbound_messages m LEFT JOIN inbound_bodies b ON b.message_id = m.id WHERE m.id = ?`,
  quarantineMissingMessage: "INSERT INTO inbound_quarantined_messages (id, reason, quarantined_at) VALUES (?, ?, ?)",
  deleteMessageJobs: "DELETE FROM inbound_jobs WHERE message_id = ? RETURNING id",
  deleteMessage: "DELETE FROM inbound_messages WHERE id = ? RETURNING body_segment",
  messageBody: "SELECT size, body_segment, body_offset FROM inbound_messages WHERE id = ?",
  pendingByWebhook: `SELECT p.webhook_key, p.jobs,
      (SELECT min(j.first_seen_at) FROM inbound_jobs j WHERE j.webhook_key = p.webhook_key) AS oldest
    FROM inbound_pending p ORDER BY p.webhook_key`,
  totals: "SELECT name, n FROM inbound_totals",
  pruneDead: `DELETE FROM inbound_dead_jobs WHERE rowid IN
    (SELECT rowid FROM inbound_dead_jobs WHERE given_up_at < ? ORDER BY rowid LIMIT ${DEAD_PRUNE_CHUNK})`,
  pendingTotal: "SELECT coalesce(sum(jobs), 0) AS n FROM inbound_pending",
} as const;

type Statements = { readonly [K in keyof typeof SQL]: StatementSync };

interface QueuedWrite {
  /** Must be on disk when it settles (an accept answers `250`); outcomes need not be. */
  durable: boolean;
  apply(): void;
  settle(error: SpoolError | undefined): void;
}

export class Spool {
  readonly #db: DatabaseSync;
  readonly #sql: Statements;
  readonly #log: SpoolLog;
  readonly #now: () => number;
  readonly #groupCommitDelayMs: number;
  /** Jobs handed out by claimDue and not yet settled. */
  readonly #leases = new Map<string, LeasedAt>();
  /** Per webhook, where the last claim stopped (see claimDue). */
  readonly #cursors = new Map<string, { at: number; seq: number }>();
  #queue: QueuedWrite[] = [];
  #cancelFlush: (() => void) | undefined;
  /** Whether the pending flush is the prompt one (a durable write is queued). */
  #flushIsPrompt = false;
  readonly #walSync: WalSync;
  readonly #segments: BodySegments;
  /** Segments whose references rows of the current group dropped: released once it commits. */
  #releases: number[] = [];
  #closed = false;
  #transactions = 0;

  /**
   * Opens the spool in `dir` (created 0700 if missing), bringing its schema up to date. A corrupt
   * database is moved to `dir/quarantine/<time>/` and a fresh one started (see database-file.ts).
   * Throws a SpoolError: SPOOL_LOCKED, SPOOL_OPEN_FAILED, SPOOL_SCHEMA_TOO_NEW, SPOOL_MIGRATION_FAILED.
   */
  static open(dir: string, options: SpoolOptions = {}): Spool {
    const log = options.log ?? logToStderr;
    const now = options.now ?? Date.now;
    const db = openDatabaseFile(dir, log, now());
    try {
      migrate(db, now());
      const referenced = new Map<number, number>();
      for (const row of db.prepare(SQL.segmentReferences).iterate()) referenced.set(Number(row.n), Number(row.refs));
      const recordedHigh = Number(db.prepare(SQL.segmentHigh).get()?.value ?? 0);
      // A segment number is recorded as soon as its file exists (not synced: a lost record only
      // makes the next start quarantine that segment instead of deleting it).
      const recordHigh = db.prepare(SQL.recordSegmentHigh);
      const segments = new BodySegments(dir, { referenced, recordedHigh }, {
        segmentBytes: options.segmentBytes,
        onCreate: (n) => recordHigh.run(n),
        quarantineDir: () => quarantineFolder(dir, "unclaimed-bodies", now()),
      });
      if (segments.movedAside !== null) {
        log("error", "body segments no spooled mail points into, from another database, were moved to quarantine", segments.movedAside);
      }
      // The database, WAL and bodies folder exist now; make their directory entries durable before any `250`.
      syncDirectory(dir);
      return new Spool(db, segments, new WalSync(walPath(db), segments), log, now, options.groupCommitDelayMs ?? 0);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private constructor(db: DatabaseSync, segments: BodySegments, walSync: WalSync, log: SpoolLog, now: () => number, groupCommitDelayMs: number) {
    this.#db = db;
    this.#segments = segments;
    this.#walSync = walSync;
    this.#log = log;
    this.#now = now;
    this.#groupCommitDelayMs = groupCommitDelayMs;
    const statements: Partial<Record<keyof typeof SQL, StatementSync>> = {};
    for (const [name, sql] of Object.entries(SQL)) statements[name as keyof typeof SQL] = db.prepare(sql);
    this.#sql = statements as Statements;
  }

  /**
   * The spool's connection and group commit for the stores that share its database (outbound spool,
   * event outbox): their writes join the same transactions as accepts and outcomes.
   */
  get database(): SharedDatabase {
    return {
      prepare: (sql) => {
        this.#assertOpen();
        return this.#db.prepare(sql);
      },
      write: (durable, apply) => this.#write(durable, apply),
      transaction: (body) => {
        this.#assertOpen();
        return this.#transaction(body);
      },
    };
  }

  /** Set once a sync failed: every accept is refused from then on, until a restart. */
  get syncFailure(): string | undefined {
    return this.#walSync.failure;
  }

  /** fdatasync calls on the WAL since open: one per group of accepts at most, none for outcomes. */
  get walSyncCount(): number {
    return this.#walSync.syncs;
  }

  /** Write transactions committed since open: accept groups, outcome groups and quarantines. */
  get transactionCount(): number {
    return this.#transactions;
  }

  /**
   * Stores a mail and its jobs. Resolves once they are committed to disk, so the SMTP side may then
   * answer `250`; rejects with a SpoolError (SPOOL_WRITE_FAILED, SPOOL_INVALID_INPUT, SPOOL_CLOSED),
   * after which nothing of this mail is stored and the SMTP side answers `4xx`.
   */
  accept(message: InboundMessageInput): Promise<void> {
    const problem = invalidMessage(message);
    if (problem !== undefined) {
      return Promise.reject(new SpoolError("SPOOL_INVALID_INPUT", `cannot spool message ${String(message.id)}: ${problem}`));
    }
    // Hashed when handed over, so a buffer changed afterwards is caught by readMessage.
    const digest = sha256(message.raw);
    const recipients = JSON.stringify(message.recipients);
    const { id, receivedAt, envelopeFrom, remoteAddress, raw, jobs } = message;
    if (this.#closed) return Promise.reject(new SpoolError("SPOOL_CLOSED", "the spool is closed"));
    let body;
    try {
      body = this.#segments.append(raw);
    } catch (error) {
      return Promise.reject(writeFailed(error));
    }
    // A failed accept keeps its segment reference (whether its row committed is not known here): the
    // segment then stays until the next start, which counts references from the rows.
    return this.#write(true, () => {
      // Jobs due before where claims go on from (a claim ran since receivedAt was taken, or the clock
      // stepped back): the next claim must look from the start. Done here, as the rows commit.
      this.#forgetCursorsAfter(receivedAt);
      this.#sql.insertMessage.run(id, receivedAt, envelopeFrom, recipients, remoteAddress, raw.byteLength, digest, body.segment, body.offset);
      for (const job of jobs) this.#sql.insertJob.run(job.id, id, job.webhookKey, job.recipient, receivedAt, receivedAt);
    });
  }

  /**
   * Up to `limit` jobs due at `now` (next attempt ≤ now), earliest first, with their mail's metadata
   * but not its body; each is leased until its outcome is committed or it is released. Reads a bounded
   * number of rows per webhook, never the backlog. Jobs whose mail metadata cannot be read are
   * quarantined (with their mail) and left out.
   */
  claimDue(now: number, limit: number, filter: DueFilter = {}): InboundJob[] {
    this.#assertOpen();
    if (!Number.isSafeInteger(limit) || limit < 1) throw new SpoolError("SPOOL_INVALID_INPUT", `claimDue limit must be a positive integer, got ${limit}`);
    const found: InboundJob[] = [];
    const unreadable = new Map<string, string>();
    for (const key of this.#webhookKeys(filter)) {
      const scan = (rows: Iterable<Record<string, SQLOutputValue>>): InboundJob[] => {
        const jobs: InboundJob[] = [];
        for (const row of rows) {
          if (this.#leases.has(String(row.id))) continue;
          const job = decodeDueRow(row);
          if (typeof job === "string") {
            unreadable.set(String(row.message_id), job);
            continue;
          }
          jobs.push(job);
          if (jobs.length === limit) break;
        }
        return jobs;
      };
      // As in the outbound spool: the earliest due jobs are usually the ones in flight, still
      // leased, so a claim goes on from where the last one stopped for this webhook. When that
      // finds too few it starts over from the start, so that what it takes is always every unleased
      // due job up to some point, in order, and the cursor can go there. Release, an early
      // reschedule and a commit of mail due before the cursor forget it.
      const cursor = this.#cursors.get(key);
      let jobs = cursor === undefined ? [] : scan(this.#sql.dueForWebhookAfter.iterate(key, now, cursor.at, cursor.seq));
      if (jobs.length < limit) jobs = scan(this.#sql.dueForWebhook.iterate(key, now));
      found.push(...jobs);
    }
    for (const [messageId, reason] of unreadable) this.#quarantine(messageId, reason);
    const claimed = found
      .filter((job) => !unreadable.has(job.messageId))
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.seq - b.seq)
      .slice(0, limit);
    for (const job of claimed) {
      this.#leases.set(job.id, { webhookKey: job.webhookKey, at: job.nextAttemptAt });
      this.#cursors.set(job.webhookKey, { at: job.nextAttemptAt, seq: job.seq });
    }
    return claimed;
  }

  /** When the earliest unleased job becomes due (possibly in the past), or undefined if none is pending. */
  nextDueAt(filter: DueFilter = {}): number | undefined {
    this.#assertOpen();
    let earliest: number | undefined;
    for (const key of this.#webhookKeys(filter)) {
      for (const row of this.#sql.nextForWebhook.iterate(key)) {
        if (this.#leases.has(String(row.id))) continue;
        const at = Number(row.next_attempt_at);
        if (earliest === undefined || at < earliest) earliest = at;
        break;
      }
    }
    return earliest;
  }

  /**
   * Leases one job known to be pending, without reading it: the delivery loop's fast path for a mail
   * it was just handed in memory (due at `at`, its receipt). False if the job is already leased.
   */
  claim(jobId: string, webhookKey: string, at: number): boolean {
    this.#assertOpen();
    if (this.#leases.has(jobId)) return false;
    this.#leases.set(jobId, { webhookKey, at });
    return true;
  }

  /** Gives a claimed job back without an outcome (shutdown, webhook gone mid-post): it stays as it was. */
  release(jobId: string): void {
    const leased = this.#leases.get(jobId);
    this.#leases.delete(jobId);
    // Due again where it was: a claim that went on past that point must look from the start. (Fresh
    // mail given back because its webhook is busy is usually past every cursor: they stay.)
    const cursor = leased === undefined ? undefined : this.#cursors.get(leased.webhookKey);
    if (leased !== undefined && cursor !== undefined && leased.at <= cursor.at) this.#cursors.delete(leased.webhookKey);
  }

  /**
   * The raw mail, checked against its stored SHA-256. If the row or body is missing or the checksum does
   * not match, the mail and all its jobs are moved to quarantine (never deleted) and that is returned.
   */
  readMessage(messageId: string): ReadMessageResult {
    this.#assertOpen();
    const row = this.#sql.readMessage.get(messageId);
    let reason: string;
    const raw = row === undefined ? null : this.#bodyOf(row);
    if (row === undefined) {
      reason = "message row missing";
    } else if (raw === null) {
      reason = "message body missing";
    } else {
      if (row.sha256 instanceof Uint8Array && sha256(raw).equals(row.sha256)) return { kind: "ok", raw };
      reason = "checksum mismatch";
    }
    return { kind: "quarantined", reason, jobIds: this.#quarantine(messageId, reason) };
  }

  /**
   * The post succeeded: the job is removed, and its mail with it when no job is left. Resolves true
   * once committed, false if the job no longer exists (e.g. quarantined meanwhile).
   */
  delivered(jobId: string): Promise<boolean> {
    return this.#write(false, () => this.#removeJob(jobId), jobId);
  }

  /** The post failed and will be retried at `at` (see schedule.ts). The lease ends when committed. */
  reschedule(jobId: string, next: Reschedule): Promise<boolean> {
    if (!Number.isSafeInteger(next.at) || !Number.isSafeInteger(next.attempts) || next.attempts < 0) {
      return Promise.reject(new SpoolError("SPOOL_INVALID_INPUT", `cannot reschedule job ${jobId}: at and attempts must be integers`));
    }
    const lastError = clip(next.lastError);
    return this.#write(
      false,
      () => {
        // Due again no later than where a claim goes on from: that claim must look from the start.
        this.#forgetCursorsAfter(next.at, this.#leases.get(jobId)?.webhookKey);
        return Number(this.#sql.reschedule.run(next.at, next.attempts, lastError, jobId).changes) > 0;
      },
      jobId,
    );
  }

  /**
   * The job will never be posted (period over, 410 Gone, webhook removed): it moves to
   * `inbound_dead_jobs` with the reason and its mail's metadata; the mail's body is dropped with the
   * mail once no job is left, like `delivered`. Resolves false if the job no longer exists.
   */
  giveUp(jobId: string, reason: string): Promise<boolean> {
    const at = this.#now();
    const why = clip(reason);
    return this.#write(false, () => Number(this.#sql.recordDead.run(why, at, jobId).changes) > 0 && this.#removeJob(jobId), jobId);
  }

  /**
   * Gives up, with `reason`, up to `limit` jobs of a webhook first seen before `firstSeenBefore` and not
   * in flight: jobs a held webhook (delivery-breaker.ts) never got to try before their retry period
   * ended. Resolves with how many went.
   */
  giveUpExpired(webhookKey: string, firstSeenBefore: number, reason: string, limit: number): Promise<number> {
    const at = this.#now();
    const why = clip(reason);
    return this.#write(false, () => {
      let n = 0;
      for (const row of this.#sql.expiredJobs.all(webhookKey, firstSeenBefore, limit)) {
        const id = String(row.id);
        if (!this.#leases.has(id) && Number(this.#sql.recordDead.run(why, at, id).changes) > 0 && this.#removeJob(id)) n++;
      }
      return n;
    });
  }

  /**
   * Forgets given-up jobs older than `before` (their record in inbound_dead_jobs: metadata and reason,
   * kept for inspection). At most DEAD_PRUNE_CHUNK per call; resolves with how many went.
   */
  pruneDeadJobs(before: number): Promise<number> {
    return this.#write(false, () => Number(this.#sql.pruneDead.run(before).changes));
  }

  /** Pending jobs per webhook and the first-seen time of the oldest; from counters, not a scan. */
  pendingByWebhook(): Map<string, WebhookBacklog> {
    this.#assertOpen();
    const result = new Map<string, WebhookBacklog>();
    for (const row of this.#sql.pendingByWebhook.iterate()) {
      result.set(String(row.webhook_key), { pending: Number(row.jobs), oldestFirstSeenAt: Number(row.oldest) });
    }
    return result;
  }

  counts(): SpoolCounts {
    this.#assertOpen();
    const totals = new Map(this.#sql.totals.all().map((r) => [String(r.name), Number(r.n)]));
    return {
      messages: totals.get("messages") ?? 0,
      pendingJobs: Number(this.#sql.pendingTotal.get()?.n ?? 0),
      deadJobs: totals.get("dead_jobs") ?? 0,
      quarantinedJobs: totals.get("quarantined_jobs") ?? 0,
    };
  }

  /**
   * Moves the bodies of mail received before `before` out of their segment files into the database,
   * at most `limit` per call, so that mail staying queued (a failing endpoint, a suspended webhook)
   * does not keep whole segments alive. Resolves with how many were looked at.
   */
  async moveQueuedBodies(before: number, limit: number): Promise<number> {
    this.#assertOpen();
    const rows = this.#sql.bodiesInSegments.all(this.#segments.activeSegment, before, limit);
    await Promise.all(
      rows.map(async (row) => {
        const id = String(row.id);
        const segment = Number(row.body_segment);
        const raw = this.#bodyOf(row);
        if (raw === null) {
          this.#quarantine(id, "message body missing");
          return;
        }
        // Durable: once committed the segment may be deleted, so the copy must be on disk first.
        const moved = await this.#write(true, () => {
          if (Number(this.#sql.detachBody.run(id, segment).changes) === 0) return false;
          this.#sql.insertBody.run(id, raw);
          return true;
        });
        if (moved) this.#segments.release(segment);
      }),
    );
    this.#syncForSegments();
    return rows.length;
  }

  /** Body segment files in use (see body-segments.ts). */
  get bodySegmentCount(): number {
    return this.#segments.segmentCount;
  }

  /** Commits the writes still queued and syncs them (their promises resolve), then closes the database. */
  close(): void {
    if (this.#closed) return;
    this.#flush(true);
    this.#walSync.close();
    this.#segments.close();
    this.#closed = true;
    this.#db.close();
  }

  /** A message row's body: from its segment, or the inbound_bodies column read with it; null if missing. */
  #bodyOf(row: Record<string, SQLOutputValue>): Buffer | null {
    if (row.body_segment !== null && row.body_segment !== undefined) {
      return this.#segments.read({ segment: Number(row.body_segment), offset: Number(row.body_offset) }, Number(row.size));
    }
    return row.raw instanceof Uint8Array ? Buffer.from(row.raw.buffer, row.raw.byteOffset, row.raw.byteLength) : null;
  }

  /** Forgets the claim cursors (of one webhook, if known) at or past `at`: a job due then may sit before them. */
  #forgetCursorsAfter(at: number, webhookKey?: string): void {
    for (const [key, cursor] of this.#cursors) {
      if (at <= cursor.at && (webhookKey === undefined || key === webhookKey)) this.#cursors.delete(key);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new SpoolError("SPOOL_CLOSED", "the spool is closed");
  }

  #webhookKeys(filter: DueFilter): string[] {
    const { excludeWebhookKeys: exclude, onlyWebhookKeys: only } = filter;
    return this.#sql.webhookKeys
      .all()
      .map((r) => String(r.webhook_key))
      .filter((key) => !exclude?.has(key) && (only === undefined || only.has(key)));
  }

  /**
   * Queues a write for the next group commit; `leased` is released once it commits (a failed write keeps it).
   *
   * Durable writes (accepts) are committed on the next `setImmediate` (or after groupCommitDelayMs)
   * and settle once the WAL holding their commit was synced, because `250` promises the mail is on
   * disk. Outcome writes (delivered, reschedule, give-up) wait up to OUTCOME_COMMIT_DELAY_MS for
   * company and settle at COMMIT: safe across a process crash, and after a power loss the worst case
   * is a delivery repeated with the same webhook-id, which at-least-once delivery allows. This keeps
   * fsyncs for what needs them.
   */
  #write<T>(durable: boolean, apply: () => T, leased?: string): Promise<T> {
    if (this.#closed) return Promise.reject(new SpoolError("SPOOL_CLOSED", "the spool is closed"));
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    let result: T;
    this.#queue.push({
      durable,
      apply: () => {
        result = apply();
      },
      settle: (error) => {
        // A failed outcome write keeps its lease: the caller releases the job after a pause, so
        // a full disk does not turn into the same post repeated in a loop.
        if (leased !== undefined && error === undefined) this.#leases.delete(leased);
        if (error === undefined) resolve(result);
        else reject(error);
      },
    });
    if (this.#cancelFlush !== undefined && (this.#flushIsPrompt || !durable)) return promise;
    this.#cancelFlush?.();
    const run = (): void => this.#flush();
    const delay = durable ? this.#groupCommitDelayMs : OUTCOME_COMMIT_DELAY_MS;
    this.#flushIsPrompt = durable;
    if (delay > 0) {
      const timer = setTimeout(run, delay);
      this.#cancelFlush = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(run);
      this.#cancelFlush = () => clearImmediate(immediate);
    }
    return promise;
  }

  /**
   * Commits every queued write in one transaction, each in its own savepoint, then settles them.
   * While a sync runs, the commit waits for it (unless `now`): the writes arriving meanwhile join the
   * group, and one commit and one sync serve them all, at no cost in latency since they would have
   * waited for that sync to end before their own could start.
   */
  #flush(now = false): void {
    this.#cancelFlush?.();
    this.#cancelFlush = undefined;
    if (!now && this.#walSync.busy && this.#queue.length > 0) {
      this.#cancelFlush = this.#walSync.whenIdle(() => {
        this.#cancelFlush = undefined;
        this.#flush();
      });
      return;
    }
    const writes = this.#queue;
    this.#queue = [];
    if (writes.length === 0) return;
    const failed = new Map<QueuedWrite, SpoolError>();
    let groupError: SpoolError | undefined;
    try {
      this.#sql.begin.run();
      for (const write of writes) {
        this.#sql.savepoint.run();
        const releasesBefore = this.#releases.length;
        try {
          write.apply();
          this.#sql.releaseSavepoint.run();
        } catch (error) {
          this.#releases.length = releasesBefore;
          // Some errors (disk full, I/O) make SQLite roll the whole transaction back: then all fail.
          if (!this.#db.isTransaction) throw error;
          this.#sql.rollbackToSavepoint.run();
          this.#sql.releaseSavepoint.run();
          failed.set(write, writeFailed(error));
        }
      }
      this.#sql.commit.run();
      this.#transactions++;
      for (const segment of this.#releases) this.#segments.release(segment);
    } catch (error) {
      groupError = writeFailed(error);
      this.#rollbackQuietly(groupError);
    } finally {
      this.#releases = [];
    }
    if (groupError !== undefined) {
      for (const write of writes) write.settle(groupError);
      return;
    }
    const toSync: QueuedWrite[] = [];
    for (const write of writes) {
      const error = failed.get(write);
      if (write.durable && error === undefined) toSync.push(write);
      else write.settle(error);
    }
    if (toSync.length > 0) {
      this.#walSync.afterCommit((error) => {
        const failure = error === undefined ? undefined : writeFailed(error);
        for (const write of toSync) write.settle(failure);
      });
    } else {
      this.#syncForSegments();
    }
  }

  /** A segment waits for a sync (to be deleted after the commit that freed it is on disk): start one. */
  #syncForSegments(): void {
    if (this.#segments.needsSync) this.#walSync.afterCommit(() => undefined);
  }

  /** A synchronous transaction of its own (quarantine); throws SPOOL_WRITE_FAILED. */
  #transaction<T>(body: () => T): T {
    try {
      this.#sql.begin.run();
      const result = body();
      this.#sql.commit.run();
      this.#transactions++;
      return result;
    } catch (error) {
      const failure = writeFailed(error);
      this.#rollbackQuietly(failure);
      throw failure;
    }
  }

  #rollbackQuietly(cause: SpoolError): void {
    if (!this.#db.isTransaction) return;
    try {
      this.#sql.rollback.run();
    } catch (error) {
      this.#log("error", "spool rollback failed after a failed write", { cause: cause.message, error: describe(error) });
    }
  }

  #removeJob(jobId: string): boolean {
    const row = this.#sql.deleteJob.get(jobId);
    if (row === undefined) return false;
    const message = this.#sql.deleteMessageIfDone.get(row.message_id ?? null);
    if (message?.body_segment !== null && message?.body_segment !== undefined) this.#releases.push(Number(message.body_segment));
    return true;
  }

  /** Moves a mail (whatever is left of it) and all its jobs to quarantine; returns the job ids moved. */
  #quarantine(messageId: string, reason: string): string[] {
    const at = this.#now();
    const bodyRow = this.#sql.messageBody.get(messageId);
    // What is left of a body in a segment is kept with the rest of the evidence.
    const segmentBytes = bodyRow?.body_segment === null || bodyRow === undefined ? null : this.#bodyOf(bodyRow);
    let released: number | null = null;
    const jobIds = this.#transaction(() => {
      this.#sql.quarantineJobs.run(reason, at, messageId);
      const ids = this.#sql.deleteMessageJobs.all(messageId).map((r) => String(r.id));
      const copied = Number(this.#sql.quarantineMessage.run(segmentBytes, reason, at, messageId).changes) > 0;
      if (copied) {
        const deleted = this.#sql.deleteMessage.get(messageId);
        released = deleted?.body_segment === null || deleted?.body_segment === undefined ? null : Number(deleted.body_segment);
      } else if (ids.length > 0) this.#sql.quarantineMissingMessage.run(messageId, reason, at);
      return ids;
    });
    if (released !== null) {
      this.#segments.release(released);
      this.#syncForSegments();
    }
    for (const id of jobIds) this.#leases.delete(id);
    if (jobIds.length > 0) {
      this.#log("error", "spooled mail is unreadable; moved it and its jobs to quarantine", { messageId, reason, jobs: jobIds.length });
    }
    return jobIds;
  }
}



/** The WAL file beside the database: the file whose sync makes a commit durable. */
function walPath(db: DatabaseSync): string {
  const main = db.location();
  if (main === null) throw new SpoolError("SPOOL_OPEN_FAILED", "the spool database has no file (in-memory?)");
  return `${main}-wal`;
}

function writeFailed(error: unknown): SpoolError {
  return new SpoolError("SPOOL_WRITE_FAILED", `spool write failed: ${describe(error)}`, { cause: error });
}

function logToStderr(level: string, msg: string, fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level, component: "spool", msg, ...fields })}\n`);
}


/** Why a message cannot be spooled, or undefined. */
function invalidMessage(m: InboundMessageInput): string | undefined {
  if (!isText(m.id)) return "id must be a non-empty string";
  if (!Number.isSafeInteger(m.receivedAt)) return "receivedAt must be an integer (ms since the epoch)";
  if (typeof m.envelopeFrom !== "string" || typeof m.remoteAddress !== "string") return "envelopeFrom and remoteAddress must be strings";
  if (!Array.isArray(m.recipients) || !m.recipients.every(isText)) return "recipients must be non-empty strings";
  if (!(m.raw instanceof Uint8Array)) return "raw must be a Buffer";
  if (m.jobs.length === 0) return "a message needs at least one job";
  const ids = new Set<string>();
  for (const job of m.jobs) {
    if (!isText(job.id) || !isText(job.webhookKey) || !isText(job.recipient)) return "job id, webhookKey and recipient must be non-empty strings";
    if (ids.has(job.id)) return `job id ${job.id} appears twice`;
    ids.add(job.id);
  }
  return undefined;
}

/** A due row as a job, or why its mail's metadata cannot be read. */
function decodeDueRow(row: Record<string, SQLOutputValue>): InboundJob | string {
  if (row.m_id === null) return "message row missing";
  let recipients: unknown;
  try {
    recipients = JSON.parse(String(row.recipients));
  } catch {
    return "message recipients unreadable";
  }
  if (!Array.isArray(recipients) || !recipients.every((r) => typeof r === "string")) return "message recipients unreadable";
  const messageId = String(row.message_id);
  return {
    id: String(row.id),
    seq: Number(row.seq),
    messageId,
    webhookKey: String(row.webhook_key),
    recipient: String(row.recipient),
    attempts: Number(row.attempts),
    firstSeenAt: Number(row.first_seen_at),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: typeof row.last_error === "string" ? row.last_error : null,
    message: {
      id: messageId,
      receivedAt: Number(row.received_at),
      envelopeFrom: String(row.envelope_from),
      recipients,
      remoteAddress: String(row.remote_address),
      size: Number(row.size),
    },
  };
}
