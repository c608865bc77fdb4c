// The outbound spool: mail accepted from relay-source servers, one delivery job per recipient, their
// retry schedule, and the events of every state change, all in the inbound Spool's database (one
// connection, one group-commit queue; see shared-database.ts).
//
// The outbox rule: each write below records its events IN THE SAME TRANSACTION as the change, so an
// event exists exactly when its change does: every accepted recipient has one `queued` event, every
// committed outcome its `succeeded` / `deferred` / `failed` + `bounced`. A write that fails leaves
// neither.
//
// As in the inbound Spool, claims are in-memory leases (one process owns the spool): a job claimed by
// `claimDue` is handed out again only after its outcome was committed, it was released, or the process
// restarted. A crash mid-delivery delivers that recipient again (at-least-once, like every MTA).
import type { SQLOutputValue, StatementSync } from "node:sqlite";
import type { DeliveryEvent, ErrorStatus } from "../events/types.ts";
import type { SpoolLog } from "./database-file.ts";
import { SpoolError } from "./errors.ts";
import { EventLog } from "./event-log.ts";
import type { SharedDatabase } from "./shared-database.ts";
import { clip, isText, sha256 } from "./values.ts";

export interface OutboundMessageInput {
  readonly id: string;
  /** Also each job's first-seen time, first attempt time and the `queued` events' time. */
  readonly receivedAt: number;
  /** MAIL FROM as the relay-source gave it; "" for the null sender. */
  readonly envelopeFrom: string;
  /** The relay-source server's address (`sourceIp` of the `queued` events). */
  readonly sourceIp: string;
  readonly raw: Uint8Array;
  /** The address in the header From, the decoded Subject, the Message-ID header (with brackets). */
  readonly headerFrom: string;
  readonly subject: string;
  readonly messageIdHeader: string;
  /** The value of the configured apiData header; "" if none. */
  readonly apiData: string;
  /** One per envelope recipient; the id is also the VERP token of the return path. */
  readonly jobs: readonly { readonly id: string; readonly recipient: string }[];
}

export interface OutboundMessageMeta {
  readonly id: string;
  readonly receivedAt: number;
  readonly envelopeFrom: string;
  readonly sourceIp: string;
  readonly headerFrom: string;
  readonly subject: string;
  readonly messageIdHeader: string;
  readonly apiData: string;
  readonly size: number;
}

export interface OutboundJob {
  readonly id: string;
  readonly seq: number;
  readonly messageId: string;
  readonly recipient: string;
  readonly attempts: number;
  readonly firstSeenAt: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly message: OutboundMessageMeta;
}

export type OutboundReadResult =
  | { readonly kind: "ok"; readonly raw: Buffer }
  /** The mail could not be read intact; it and its jobs moved to quarantine, each with `failed` + `bounced`. */
  | { readonly kind: "quarantined"; readonly reason: string; readonly jobIds: readonly string[] };

export interface OutboundDeferral {
  readonly at: number;
  /** Attempts made so far, including the one that just failed. */
  readonly attempts: number;
  /** The server's reply or what went wrong: the `deferred` event's reason. */
  readonly reason: string;
}

export interface OutboundFailure {
  /** The server's reply (or the relay's own words): the `failed` and `bounced` events' reason. */
  readonly reason: string;
  readonly errorStatus: ErrorStatus;
  /** RFC 3463 code when known, else "". */
  readonly enhancedStatus: string;
}

export interface ReportedBounce {
  readonly errorStatus: ErrorStatus;
  readonly enhancedStatus: string;
  /** The report's Diagnostic-Code or the quoted reply: the `bounced` event's reason. */
  readonly diagnostic: string;
}

export interface OutboundPending {
  readonly jobs: number;
  /** First-seen time (ms) of the oldest job; undefined when none is queued. */
  readonly oldestFirstSeenAt: number | undefined;
}

export interface OutboundSpoolOptions {
  readonly now?: () => number;
  readonly log?: SpoolLog;
  /**
   * Called after a write's events were committed, once per status with how many: for the
   * events-recorded metric and to wake the event worker.
   */
  readonly onEvents?: (status: DeliveryEvent["status"], count: number) => void;
  /** Record recipients that hard-bounce (unknown user or host) for suppression (outbound.suppression). */
  readonly suppressHardBounces?: boolean;
}

/**
 * Error statuses that say the address will never work: unknown user (2). Not unknown host (1): a
 * resolver that answers NXDOMAIN by mistake for a while would otherwise suppress whole domains.
 */
const HARD_BOUNCE_STATUSES: ReadonlySet<number> = new Set([2]);

/** How long delivered jobs are remembered for asynchronous bounces, by default. */
export const DEFAULT_SENT_RETENTION_MS = 7 * 86_400_000;
/** Rows one prune deletes at most, so one transaction never holds the database for long. */
/** Delivered jobs deleted per prune transaction. */
export const SENT_PRUNE_CHUNK = 5000;
const QUARANTINE_REASON = "the relay's spooled copy of the mail is unreadable (quarantined)";

/** Due jobs with their mail's metadata, in claim order (see claimDue). */
function dueJobs(where: string): string {
  return `SELECT j.seq, j.id, j.message_id, j.recipient, j.attempts, j.first_seen_at, j.next_attempt_at, j.last_error,
      m.id AS m_id, m.received_at, m.envelope_from, m.source_ip, m.header_from, m.subject, m.message_id_header,
      m.api_data, m.size
    FROM outbound_jobs j LEFT JOIN outbound_messages m ON m.id = j.message_id
    WHERE ${where} ORDER BY j.next_attempt_at, j.seq`;
}

const SQL = {
  insertMessage: `INSERT INTO outbound_messages (id, received_at, envelope_from, source_ip, header_from, subject,
      message_id_header, api_data, size, sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertBody: "INSERT INTO outbound_bodies (message_id, raw) VALUES (?, ?)",
  insertJob: `INSERT INTO outbound_jobs (id, message_id, recipient, first_seen_at, next_attempt_at)
    VALUES (?, ?, ?, ?, ?)`,
  due: dueJobs("j.next_attempt_at <= ?"),
  dueAfter: dueJobs("j.next_attempt_at <= ? AND (j.next_attempt_at, j.seq) > (?, ?)"),
  next: "SELECT id, next_attempt_at FROM outbound_jobs ORDER BY next_attempt_at, seq",
  jobFacts: `SELECT j.recipient, j.message_id, m.envelope_from, m.header_from, m.subject, m.message_id_header, m.api_data
    FROM outbound_jobs j LEFT JOIN outbound_messages m ON m.id = j.message_id WHERE j.id = ?`,
  sentFacts: `SELECT recipient, envelope_from, header_from, subject, message_id_header, api_data
    FROM outbound_sent WHERE id = ?`,
  readMessage: `SELECT m.sha256, b.raw FROM outbound_messages m LEFT JOIN outbound_bodies b ON b.message_id = m.id
    WHERE m.id = ?`,
  defer: "UPDATE outbound_jobs SET next_attempt_at = ?, attempts = ?, last_error = ? WHERE id = ?",
  recordSent: `INSERT OR REPLACE INTO outbound_sent (id, recipient, envelope_from, header_from, subject, message_id_header,
      api_data, delivered_at)
    SELECT j.id, j.recipient, m.envelope_from, m.header_from, m.subject, m.message_id_header, m.api_data, ?
    FROM outbound_jobs j JOIN outbound_messages m ON m.id = j.message_id WHERE j.id = ?`,
  deleteJob: "DELETE FROM outbound_jobs WHERE id = ?",
  deleteMessageIfDone: `DELETE FROM outbound_messages
    WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM outbound_jobs WHERE message_id = ?1)`,
  quarantineJobs: `INSERT INTO outbound_quarantined_jobs (seq, id, message_id, recipient, attempts, first_seen_at,
      next_attempt_at, last_error, reason, quarantined_at)
    SELECT seq, id, message_id, recipient, attempts, first_seen_at, next_attempt_at, last_error, ?, ?
    FROM outbound_jobs WHERE message_id = ? ORDER BY seq`,
  messageJobIds: "SELECT id FROM outbound_jobs WHERE message_id = ? ORDER BY seq",
  quarantineMessage: `INSERT INTO outbound_quarantined_messages (id, received_at, envelope_from, source_ip, header_from,
      subject, message_id_header, api_data, size, sha256, raw, reason, quarantined_at)
    SELECT m.id, m.received_at, m.envelope_from, m.source_ip, m.header_from, m.subject, m.message_id_header, m.api_data,
      m.size, m.sha256, b.raw, ?, ?
    FROM outbound_messages m LEFT JOIN outbound_bodies b ON b.message_id = m.id WHERE m.id = ?`,
  quarantineMissingMessage: "INSERT INTO outbound_quarantined_messages (id, reason, quarantined_at) VALUES (?, ?, ?)",
  deleteMessageJobs: "DELETE FROM outbound_jobs WHERE message_id = ?",
  deleteMessage: "DELETE FROM outbound_messages WHERE id = ?",
  pruneSent: `DELETE FROM outbound_sent WHERE id IN
    (SELECT id FROM outbound_sent WHERE delivered_at < ? ORDER BY delivered_at LIMIT ${SENT_PRUNE_CHUNK})`,
  totals: "SELECT name, n FROM outbound_totals",
  suppress: `INSERT INTO outbound_suppressed (address, error_status, reason, suppressed_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (address) DO UPDATE SET error_status = excluded.error_status, reason = excluded.reason,
      suppressed_at = excluded.suppressed_at`,
  suppressedSince: "SELECT suppressed_at FROM outbound_suppressed WHERE address = ? AND suppressed_at >= ?",
  pruneSuppressed: "DELETE FROM outbound_suppressed WHERE suppressed_at < ?",
  knowsJob: "SELECT 1 AS known FROM outbound_jobs WHERE id = ? UNION ALL SELECT 1 FROM outbound_sent WHERE id = ? LIMIT 1",
  oldest: "SELECT min(first_seen_at) AS oldest FROM outbound_jobs",
} as const;

type Statements = { readonly [K in keyof typeof SQL]: StatementSync };

/** What every event of one job repeats. */
interface JobFacts {
  readonly recipient: string;
  readonly envelopeFrom: string;
  readonly headerFrom: string;
  readonly subject: string;
  readonly messageIdHeader: string;
  readonly apiData: string;
}

export class OutboundSpool {
  readonly #db: SharedDatabase;
  readonly #sql: Statements;
  readonly #events: EventLog;
  readonly #now: () => number;
  readonly #log: SpoolLog;
  readonly #onEvents: OutboundSpoolOptions["onEvents"];
  readonly #suppressHardBounces: boolean;
  readonly #leases = new Set<string>();
  /** Where the last claim stopped (see claimDue). */
  #cursor: { at: number; seq: number } | undefined;

  /** `db` is the inbound Spool's `database` (open it first: opening migrates the schema). */
  constructor(db: SharedDatabase, options: OutboundSpoolOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    this.#onEvents = options.onEvents;
    this.#suppressHardBounces = options.suppressHardBounces ?? false;
    this.#events = new EventLog(db);
    const statements: Partial<Record<keyof typeof SQL, StatementSync>> = {};
    for (const [name, sql] of Object.entries(SQL)) statements[name as keyof typeof SQL] = db.prepare(sql);
    this.#sql = statements as Statements;
  }

  /**
   * Stores a mail, one job per recipient, and one `queued` event per recipient, in one transaction.
   * Resolves once it is on disk (the submission side may then answer `250`); rejects with a SpoolError
   * (SPOOL_INVALID_INPUT, SPOOL_WRITE_FAILED, SPOOL_CLOSED), after which nothing of it is stored.
   */
  accept(message: OutboundMessageInput): Promise<void> {
    const problem = invalidMessage(message);
    if (problem !== undefined) {
      return Promise.reject(new SpoolError("SPOOL_INVALID_INPUT", `cannot spool outbound message ${String(message.id)}: ${problem}`));
    }
    const digest = sha256(message.raw);
    const m = message;
    const write = this.#db.write(true, () => {
      // Jobs due before where claims go on from (a claim ran since receivedAt was taken, or the clock
      // stepped back): the next claim must look from the start. Done here, as the rows commit.
      if (this.#cursor !== undefined && m.receivedAt <= this.#cursor.at) this.#cursor = undefined;
      this.#sql.insertMessage.run(m.id, m.receivedAt, m.envelopeFrom, m.sourceIp, m.headerFrom, m.subject, m.messageIdHeader, m.apiData, m.raw.byteLength, digest);
      this.#sql.insertBody.run(m.id, m.raw);
      const facts = { envelopeFrom: m.envelopeFrom, headerFrom: m.headerFrom, subject: m.subject, messageIdHeader: m.messageIdHeader, apiData: m.apiData };
      for (const job of m.jobs) {
        this.#sql.insertJob.run(job.id, m.id, job.recipient, m.receivedAt, m.receivedAt);
        this.#events.append(eventOf({ ...facts, recipient: job.recipient }, m.receivedAt, { status: "queued", sourceIp: m.sourceIp }));
      }
    });
    return write.then(() => this.#recorded("queued", m.jobs.length));
  }

  /**
   * Up to `limit` jobs due at `now`, earliest first, with their mail's metadata (not its body); each
   * is leased until its outcome is committed or it is released. Jobs whose mail row is missing are
   * quarantined and left out.
   */
  claimDue(now: number, limit: number): OutboundJob[] {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new SpoolError("SPOOL_INVALID_INPUT", `claimDue limit must be a positive integer, got ${limit}`);
    const orphans = new Set<string>();
    const scan = (rows: Iterable<Record<string, SQLOutputValue>>): OutboundJob[] => {
      const jobs: OutboundJob[] = [];
      for (const row of rows) {
        if (this.#leases.has(String(row.id))) continue;
        if (row.m_id === null) {
          orphans.add(String(row.message_id));
          continue;
        }
        jobs.push(decodeJob(row));
        if (jobs.length === limit) break;
      }
      return jobs;
    };
    // Under load the earliest due jobs are the ones in flight, still leased: scanning past them for
    // every freed slot cost more than the delivery. So a claim goes on from where the last one
    // stopped. When that finds too few it starts over from the start, so that what it takes is
    // always every unleased due job up to some point, in order, and the cursor can go there.
    // Release, an early deferral and a commit of mail due before the cursor forget it.
    let claimed = this.#cursor === undefined ? [] : scan(this.#sql.dueAfter.iterate(now, this.#cursor.at, this.#cursor.seq));
    if (claimed.length < limit) claimed = scan(this.#sql.due.iterate(now));
    const last = claimed.at(-1);
    this.#cursor = last === undefined ? undefined : { at: last.nextAttemptAt, seq: last.seq };
    for (const messageId of orphans) this.#quarantine(messageId, "message row missing");
    for (const job of claimed) this.#leases.add(job.id);
    return claimed;
  }

  /** Whether `address` hard-bounced at or after `since` (and so is suppressed). */
  isSuppressed(address: string, since: number): boolean {
    return this.#sql.suppressedSince.get(address.toLowerCase(), since) !== undefined;
  }

  /** Forgets suppressions older than `before`. */
  pruneSuppressed(before: number): Promise<number> {
    return this.#db.write(false, () => Number(this.#sql.pruneSuppressed.run(before).changes));
  }

  #suppressIfHard(address: string, errorStatus: number, reason: string, at: number): void {
    if (this.#suppressHardBounces && HARD_BOUNCE_STATUSES.has(errorStatus)) this.#sql.suppress.run(address.toLowerCase(), errorStatus, reason, at);
  }

  /** Whether a job is queued, or was delivered recently enough for a bounce mail to name it. */
  knowsJob(jobId: string): boolean {
    return this.#sql.knowsJob.get(jobId, jobId) !== undefined;
  }

  /** When the earliest unleased job becomes due (possibly in the past); undefined when none is queued. */
  nextDueAt(): number | undefined {
    for (const row of this.#sql.next.iterate()) {
      if (!this.#leases.has(String(row.id))) return Number(row.next_attempt_at);
    }
    return undefined;
  }

  /** Gives a claimed job back without an outcome (shutdown): it stays as it was. */
  release(jobId: string): void {
    this.#cursor = undefined;
    this.#leases.delete(jobId);
  }

  /**
   * The raw mail, checked against its SHA-256. A missing or damaged mail is moved with its jobs to
   * quarantine (never deleted) and each job gets `failed` + `bounced` (error status 99): the sender
   * learns that it will not be delivered.
   */
  readMessage(messageId: string): OutboundReadResult {
    const row = this.#sql.readMessage.get(messageId);
    let reason: string;
    if (row === undefined) {
      reason = "message row missing";
    } else if (!(row.raw instanceof Uint8Array)) {
      reason = "message body missing";
    } else {
      const raw = Buffer.from(row.raw.buffer, row.raw.byteOffset, row.raw.byteLength);
      if (row.sha256 instanceof Uint8Array && sha256(raw).equals(row.sha256)) return { kind: "ok", raw };
      reason = "checksum mismatch";
    }
    return { kind: "quarantined", reason, jobIds: this.#quarantine(messageId, reason) };
  }

  /**
   * The destination accepted the mail: `succeeded` (with `senderIp`), the job moves to `outbound_sent`
   * (for bounces that come later) and the mail goes once no job is left. False if the job is gone.
   */
  delivered(jobId: string, outcome: { readonly senderIp: string; readonly response: string }): Promise<boolean> {
    const at = this.#now();
    return this.#outcome(jobId, "succeeded", (facts) => {
      this.#events.append(eventOf(facts, at, { status: "succeeded", senderIp: outcome.senderIp }));
      this.#sql.recordSent.run(at, jobId);
      this.#removeJob(jobId, facts.messageId);
    });
  }

  /** A temporary failure: `deferred` with the reason, next attempt at `deferral.at`. */
  deferred(jobId: string, deferral: OutboundDeferral): Promise<boolean> {
    if (!Number.isSafeInteger(deferral.at) || !Number.isSafeInteger(deferral.attempts) || deferral.attempts < 1) {
      return Promise.reject(new SpoolError("SPOOL_INVALID_INPUT", `cannot defer job ${jobId}: at and attempts must be integers`));
    }
    const at = this.#now();
    const reason = clip(deferral.reason);
    return this.#outcome(jobId, "deferred", (facts) => {
      this.#events.append(eventOf(facts, at, { status: "deferred", reason }));
      this.#sql.defer.run(deferral.at, deferral.attempts, reason, jobId);
      // Due again no later than where claims go on from: they must look from the start to see it.
      if (this.#cursor !== undefined && deferral.at <= this.#cursor.at) this.#cursor = undefined;
    });
  }

  /**
   * A permanent failure (a 5xx, or the retry schedule ran out): `failed` and `bounced`, and the job is
   * removed. It is not kept for later bounce mails: the mail never left, and its bounce is recorded.
   */
  failed(jobId: string, failure: OutboundFailure): Promise<boolean> {
    const at = this.#now();
    const reason = clip(failure.reason);
    return this.#outcome(jobId, ["failed", "bounced"], (facts) => {
      this.#events.append(eventOf(facts, at, { status: "failed", reason }));
      this.#events.append(eventOf(facts, at, { status: "bounced", reason, errorStatus: failure.errorStatus, enhancedStatus: failure.enhancedStatus }));
      this.#suppressIfHard(facts.recipient, failure.errorStatus, reason, at);
      this.#removeJob(jobId, facts.messageId);
    });
  }

  /**
   * A bounce mail (DSN) named this job (its VERP token): `bounced` for the job's recipient, whether the
   * job is still queued or was delivered within the retention. Durable: the inbound side may answer
   * `250` to the bounce mail once this resolved. False for an unknown (or expired) id. The job itself
   * is left as it is.
   */
  bounceReported(jobId: string, bounce: ReportedBounce): Promise<boolean> {
    const at = this.#now();
    const write = this.#db.write(true, () => {
      const facts = this.#jobFacts(jobId) ?? this.#sentFacts(jobId);
      if (facts === undefined) return false;
      this.#events.append(eventOf(facts, at, { status: "bounced", reason: clip(bounce.diagnostic), errorStatus: bounce.errorStatus, enhancedStatus: bounce.enhancedStatus }));
      this.#suppressIfHard(facts.recipient, bounce.errorStatus, clip(bounce.diagnostic), at);
      return true;
    });
    return write.then((found) => {
      if (found) this.#recorded("bounced", 1);
      return found;
    });
  }

  /** Forgets delivered jobs older than `retentionMs` (at most a chunk per call); returns how many. */
  pruneSent(retentionMs: number = DEFAULT_SENT_RETENTION_MS): Promise<number> {
    const before = this.#now() - retentionMs;
    return this.#db.write(false, () => Number(this.#sql.pruneSent.run(before).changes));
  }

  /** Queued jobs and the oldest one's first-seen time, from a counter and an index, never a scan. */
  pending(): OutboundPending {
    const totals = new Map(this.#sql.totals.all().map((r) => [String(r.name), Number(r.n)]));
    const oldest = this.#sql.oldest.get()?.oldest;
    return { jobs: totals.get("jobs") ?? 0, oldestFirstSeenAt: typeof oldest === "number" ? oldest : undefined };
  }

  /** Jobs moved to quarantine since the spool was created. */
  quarantinedJobs(): number {
    return Number(this.#sql.totals.all().find((r) => r.name === "quarantined_jobs")?.n ?? 0);
  }

  /** One outcome write for a leased job: its events and changes, or false when the job is gone. */
  #outcome(
    jobId: string,
    statuses: DeliveryEvent["status"] | readonly DeliveryEvent["status"][],
    apply: (facts: JobFacts & { readonly messageId: string }) => void,
  ): Promise<boolean> {
    const write = this.#db.write(false, () => {
      const facts = this.#jobFacts(jobId);
      if (facts === undefined) return false;
      apply(facts);
      return true;
    });
    // Registered before the caller's continuation, so the lease is gone when the caller resumes.
    return write.then(
      (found) => {
        this.#leases.delete(jobId);
        if (found) for (const status of [statuses].flat()) this.#recorded(status, 1);
        return found;
      },
      // A failed write keeps the lease: the caller releases the job after a pause (see the worker).
      (error: unknown) => {
        throw error;
      },
    );
  }

  #recorded(status: DeliveryEvent["status"], count: number): void {
    if (count > 0) this.#onEvents?.(status, count);
  }

  #jobFacts(jobId: string): (JobFacts & { readonly messageId: string }) | undefined {
    const row = this.#sql.jobFacts.get(jobId);
    if (row === undefined) return undefined;
    // A job whose mail row is gone still gets its events: with the facts that are left.
    return { ...decodeFacts(row), messageId: String(row.message_id) };
  }

  #sentFacts(jobId: string): JobFacts | undefined {
    const row = this.#sql.sentFacts.get(jobId);
    return row === undefined ? undefined : decodeFacts(row);
  }

  #removeJob(jobId: string, messageId: string): void {
    this.#sql.deleteJob.run(jobId);
    this.#sql.deleteMessageIfDone.run(messageId);
  }

  /** Moves a mail and its jobs to quarantine, with `failed` + `bounced` per job; returns the job ids. */
  #quarantine(messageId: string, reason: string): string[] {
    const at = this.#now();
    const jobIds = this.#db.transaction(() => {
      const ids = this.#sql.messageJobIds.all(messageId).map((r) => String(r.id));
      for (const id of ids) {
        const facts = this.#jobFacts(id);
        if (facts === undefined) continue;
        this.#events.append(eventOf(facts, at, { status: "failed", reason: QUARANTINE_REASON }));
        this.#events.append(eventOf(facts, at, { status: "bounced", reason: QUARANTINE_REASON, errorStatus: 99, enhancedStatus: "" }));
      }
      this.#sql.quarantineJobs.run(reason, at, messageId);
      this.#sql.deleteMessageJobs.run(messageId);
      const copied = Number(this.#sql.quarantineMessage.run(reason, at, messageId).changes) > 0;
      if (copied) this.#sql.deleteMessage.run(messageId);
      else if (ids.length > 0) this.#sql.quarantineMissingMessage.run(messageId, reason, at);
      return ids;
    });
    for (const id of jobIds) this.#leases.delete(id);
    if (jobIds.length > 0) {
      this.#log("error", "spooled outbound mail is unreadable; moved it and its jobs to quarantine", { messageId, reason, jobs: jobIds.length });
      this.#recorded("failed", jobIds.length);
      this.#recorded("bounced", jobIds.length);
    }
    return jobIds;
  }
}

type EventDetails =
  | { status: "queued"; sourceIp: string }
  | { status: "succeeded"; senderIp: string }
  | { status: "deferred" | "failed"; reason: string }
  | { status: "bounced"; reason: string; errorStatus: ErrorStatus; enhancedStatus: string };

function eventOf(facts: JobFacts, createdAt: number, details: EventDetails): DeliveryEvent {
  const base = {
    createdAt,
    returnPath: facts.envelopeFrom,
    from: facts.headerFrom,
    to: facts.recipient,
    messageId: facts.messageIdHeader,
    subject: facts.subject,
    apiData: facts.apiData,
    reason: "",
    senderIp: "",
    sourceIp: "",
  };
  return { ...base, ...details };
}

function decodeFacts(row: Record<string, SQLOutputValue>): JobFacts {
  const text = (value: SQLOutputValue | undefined) => (typeof value === "string" ? value : "");
  return {
    recipient: text(row.recipient),
    envelopeFrom: text(row.envelope_from),
    headerFrom: text(row.header_from),
    subject: text(row.subject),
    messageIdHeader: text(row.message_id_header),
    apiData: text(row.api_data),
  };
}

function decodeJob(row: Record<string, SQLOutputValue>): OutboundJob {
  const messageId = String(row.message_id);
  return {
    id: String(row.id),
    seq: Number(row.seq),
    messageId,
    recipient: String(row.recipient),
    attempts: Number(row.attempts),
    firstSeenAt: Number(row.first_seen_at),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: typeof row.last_error === "string" ? row.last_error : null,
    message: {
      id: messageId,
      receivedAt: Number(row.received_at),
      envelopeFrom: String(row.envelope_from),
      sourceIp: String(row.source_ip),
      headerFrom: String(row.header_from),
      subject: String(row.subject),
      messageIdHeader: String(row.message_id_header),
      apiData: String(row.api_data),
      size: Number(row.size),
    },
  };
}




/** Why a message cannot be spooled, or undefined. */
function invalidMessage(m: OutboundMessageInput): string | undefined {
  if (!isText(m.id)) return "id must be a non-empty string";
  if (!Number.isSafeInteger(m.receivedAt)) return "receivedAt must be an integer (ms since the epoch)";
  for (const key of ["envelopeFrom", "sourceIp", "headerFrom", "subject", "messageIdHeader", "apiData"] as const) {
    if (typeof m[key] !== "string") return `${key} must be a string`;
  }
  if (!(m.raw instanceof Uint8Array)) return "raw must be a Buffer";
  if (m.jobs.length === 0) return "a message needs at least one job";
  const ids = new Set<string>();
  for (const job of m.jobs) {
    if (!isText(job.id) || !isText(job.recipient)) return "job id and recipient must be non-empty strings";
    if (ids.has(job.id)) return `job id ${job.id} appears twice`;
    ids.add(job.id);
  }
  return undefined;
}
