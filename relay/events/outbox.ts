// Per-EventWebhook cursors and batches over the `events` table (the outbox the outbound spool writes).
// The rules, for docs/events.md:
// - A webhook (or a new subscription to a type) starts at the current end of that type: it receives
//   the events recorded from its creation on, not the history.
// - A batch is formed once — its events chosen, its row inserted and the cursor advanced in ONE
//   transaction — and retried as is, with the same id (its `webhook-id`), until delivered or given up.
// - A webhook that disappears from the configuration (deleted, invalid, or no longer subscribed to the
//   type) keeps its cursor and batches for a grace period (default 24 h), so one that comes back (a
//   fixed spec, a Secret created late) resumes where it was with nothing lost. After the grace period
//   they are dropped and counted.
// - Events every cursor and every batch has passed are pruned, and so are the events of a type no
//   webhook subscribes to: the backlog on disk is what some webhook still has to receive.
// Counts come from the per-type numbering (events.type_seq), never from a scan of the backlog.
import { randomBytes } from "node:crypto";
import type { StatementSync } from "node:sqlite";
import { EventLog } from "../queue/event-log.ts";
import type { SharedDatabase } from "../queue/shared-database.ts";
import type { EventBatch, EventSubscription, EventType } from "./types.ts";

export const eventTypes: readonly EventType[] = ["deliveries", "bounces"];

export interface OutboxWebhook {
  readonly key: string;
  readonly events: EventSubscription;
}

export interface StoredBatch {
  readonly id: string;
  readonly webhookKey: string;
  readonly type: EventType;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly count: number;
  readonly formedAt: number;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
}

export interface BatchReschedule {
  readonly at: number;
  /** Attempts made so far, including the one that just failed. */
  readonly attempts: number;
  readonly lastError: string;
}

/** What a webhook has not received yet. */
export interface WebhookBacklog {
  /** Events not yet in a batch, by type. */
  readonly waiting: Readonly<Record<EventType, number>>;
  /** Formed batches not delivered yet, and the events in them. */
  readonly batches: number;
  readonly eventsInBatches: number;
}

/** Delivery facts per webhook, for its status. Times in ms since the epoch. */
export interface WebhookDeliveryFacts {
  readonly lastSuccessAt: number | null;
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
  readonly eventsGivenUp: number;
  readonly batchesGivenUp: number;
  readonly lastGiveUpAt: number | null;
  readonly lastGiveUpReason: string | null;
}

export interface DroppedWebhook {
  readonly webhookKey: string;
  readonly type: EventType;
  /** Events it had not received: waiting ones and those in its batches. */
  readonly events: number;
}

export interface EventOutboxOptions {
  readonly now?: () => number;
  /** How long a vanished webhook's cursor and batches are kept. Default 24 h. */
  readonly removedWebhookGraceMs?: number;
  readonly newBatchId?: () => string;
}

export const DEFAULT_REMOVED_WEBHOOK_GRACE_MS = 24 * 3_600_000;
const MAX_ERROR_CHARS = 1024;
/** Rows one prune deletes at most, so one transaction never holds the database for long. */
const PRUNE_CHUNK = 10_000;

const SQL = {
  counters: "SELECT type, last FROM event_type_counters",
  counter: "SELECT last FROM event_type_counters WHERE type = ?",
  cursors: "SELECT webhook_key, type, last_seq, removed_at FROM event_cursors",
  cursor: "SELECT last_seq FROM event_cursors WHERE webhook_key = ? AND type = ?",
  insertCursor: "INSERT INTO event_cursors (webhook_key, type, last_seq) VALUES (?, ?, ?)",
  restoreCursor: "UPDATE event_cursors SET removed_at = NULL WHERE webhook_key = ? AND type = ?",
  removeCursor: "UPDATE event_cursors SET removed_at = ? WHERE webhook_key = ? AND type = ?",
  deleteCursor: "DELETE FROM event_cursors WHERE webhook_key = ? AND type = ?",
  advanceCursor: "UPDATE event_cursors SET last_seq = ? WHERE webhook_key = ? AND type = ?",
  insertBatch: `INSERT INTO event_batches (id, webhook_key, type, first_seq, last_seq, count, formed_at, next_attempt_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  head: `SELECT id, webhook_key, type, first_seq, last_seq, count, formed_at, attempts, next_attempt_at, last_error
    FROM event_batches WHERE webhook_key = ? ORDER BY seq LIMIT 1`,
  batch: `SELECT id, webhook_key, type, first_seq, last_seq, count, formed_at, attempts, next_attempt_at, last_error
    FROM event_batches WHERE id = ?`,
  batchesOfType: `SELECT count(*) AS batches, coalesce(sum(count), 0) AS events FROM event_batches
    WHERE webhook_key = ? AND type = ?`,
  deleteBatchesOfType: "DELETE FROM event_batches WHERE webhook_key = ? AND type = ?",
  backlog: `SELECT webhook_key, count(*) AS batches, sum(count) AS events FROM event_batches GROUP BY webhook_key`,
  deleteBatch: "DELETE FROM event_batches WHERE id = ? RETURNING webhook_key, count",
  reschedule: "UPDATE event_batches SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ? RETURNING webhook_key",
  success: `INSERT INTO event_webhook_stats (webhook_key, last_success_at) VALUES (?, ?)
    ON CONFLICT (webhook_key) DO UPDATE SET last_success_at = excluded.last_success_at`,
  failure: `INSERT INTO event_webhook_stats (webhook_key, last_error, last_error_at) VALUES (?, ?, ?)
    ON CONFLICT (webhook_key) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
  giveUp: `INSERT INTO event_webhook_stats (webhook_key, events_given_up, batches_given_up, last_give_up_at, last_give_up_reason)
    VALUES (?1, ?2, 1, ?3, ?4)
    ON CONFLICT (webhook_key) DO UPDATE SET events_given_up = events_given_up + ?2, batches_given_up = batches_given_up + 1,
      last_give_up_at = ?3, last_give_up_reason = ?4`,
  stats: "SELECT * FROM event_webhook_stats",
  deleteStats: "DELETE FROM event_webhook_stats WHERE webhook_key = ?",
  minCursor: "SELECT min(last_seq) AS seq FROM event_cursors WHERE type = ?",
  minBatch: "SELECT min(first_seq) AS seq FROM event_batches WHERE type = ?",
  prune: `DELETE FROM events WHERE seq IN
    (SELECT seq FROM events WHERE type = ? AND type_seq <= ? ORDER BY type_seq LIMIT ${PRUNE_CHUNK})`,
} as const;

type Statements = { readonly [K in keyof typeof SQL]: StatementSync };

export class EventOutbox {
  readonly #db: SharedDatabase;
  readonly #sql: Statements;
  readonly #events: EventLog;
  readonly #now: () => number;
  readonly #graceMs: number;
  readonly #newBatchId: () => string;

  /** `db` is the inbound Spool's `database` (open it first: opening migrates the schema). */
  constructor(db: SharedDatabase, options: EventOutboxOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#graceMs = options.removedWebhookGraceMs ?? DEFAULT_REMOVED_WEBHOOK_GRACE_MS;
    this.#newBatchId = options.newBatchId ?? newBatchId;
    this.#events = new EventLog(db);
    const statements: Partial<Record<keyof typeof SQL, StatementSync>> = {};
    for (const [name, sql] of Object.entries(SQL)) statements[name as keyof typeof SQL] = db.prepare(sql);
    this.#sql = statements as Statements;
  }

  /**
   * Brings the cursors in line with the configured webhooks: new (webhook, type) pairs start at the
   * current end of the type; vanished ones are marked and, past the grace period, dropped with their
   * batches (returned, so the caller can count them). Idempotent; call it on every reload and now and
   * then (the grace period runs out without a reload).
   */
  syncWebhooks(webhooks: readonly OutboxWebhook[]): DroppedWebhook[] {
    const now = this.#now();
    const wanted = new Set<string>();
    for (const hook of webhooks) for (const type of eventTypes) if (hook.events[type]) wanted.add(pairKey(hook.key, type));
    return this.#db.transaction(() => {
      const ends = this.#ends();
      const existing = new Set<string>();
      const dropped: DroppedWebhook[] = [];
      for (const row of this.#sql.cursors.all()) {
        const key = String(row.webhook_key);
        const type = row.type === "bounces" ? "bounces" : "deliveries";
        const pair = pairKey(key, type);
        existing.add(pair);
        const removedAt = typeof row.removed_at === "number" ? row.removed_at : null;
        if (wanted.has(pair)) {
          if (removedAt !== null) this.#sql.restoreCursor.run(key, type);
        } else if (removedAt === null) {
          this.#sql.removeCursor.run(now, key, type);
        } else if (now - removedAt >= this.#graceMs) {
          const inBatches = this.#sql.batchesOfType.get(key, type);
          dropped.push({ webhookKey: key, type, events: ends[type] - Number(row.last_seq) + Number(inBatches?.events ?? 0) });
          this.#sql.deleteBatchesOfType.run(key, type);
          this.#sql.deleteCursor.run(key, type);
        }
      }
      for (const hook of webhooks) {
        for (const type of eventTypes) {
          if (hook.events[type] && !existing.has(pairKey(hook.key, type))) this.#sql.insertCursor.run(hook.key, type, ends[type]);
        }
      }
      const keys = new Set(webhooks.map((h) => h.key));
      for (const { webhookKey } of dropped) if (!keys.has(webhookKey)) this.#sql.deleteStats.run(webhookKey);
      return dropped;
    });
  }

  /** Events of `type` recorded and not yet put into a batch for this webhook (0 without a cursor). */
  waiting(webhookKey: string, type: EventType): number {
    const cursor = this.#sql.cursor.get(webhookKey, type);
    if (cursor === undefined) return 0;
    return Math.max(0, Number(this.#sql.counter.get(type)?.last ?? 0) - Number(cursor.last_seq));
  }

  /**
   * Forms the next batch of up to `maxEvents` events of `type` for the webhook: inserts it and advances
   * the cursor in one transaction. Undefined when nothing is waiting. It is due at once.
   */
  formBatch(webhookKey: string, type: EventType, maxEvents: number): StoredBatch | undefined {
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) throw new RangeError(`maxEvents must be a positive integer, got ${maxEvents}`);
    const now = this.#now();
    return this.#db.transaction(() => {
      const cursor = this.#sql.cursor.get(webhookKey, type);
      if (cursor === undefined) return undefined;
      const from = Number(cursor.last_seq);
      const end = Number(this.#sql.counter.get(type)?.last ?? 0);
      if (end <= from) return undefined;
      const last = Math.min(end, from + maxEvents);
      const batch: StoredBatch = {
        id: this.#newBatchId(),
        webhookKey,
        type,
        firstSeq: from + 1,
        lastSeq: last,
        count: last - from,
        formedAt: now,
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
      };
      this.#sql.insertBatch.run(batch.id, webhookKey, type, batch.firstSeq, batch.lastSeq, batch.count, now, now);
      this.#sql.advanceCursor.run(last, webhookKey, type);
      return batch;
    });
  }

  /** The webhook's oldest undelivered batch: the one to send next (batches go out in order). */
  headBatch(webhookKey: string): StoredBatch | undefined {
    const row = this.#sql.head.get(webhookKey);
    return row === undefined ? undefined : decodeBatch(row);
  }

  batch(id: string): StoredBatch | undefined {
    const row = this.#sql.batch.get(id);
    return row === undefined ? undefined : decodeBatch(row);
  }

  /** The events of a batch, in order, ready to render. */
  readBatch(batch: StoredBatch): EventBatch {
    const events = this.#events.read(batch.type, batch.firstSeq, batch.lastSeq);
    if (events.length !== batch.count) {
      throw Object.assign(new Error(`batch ${batch.id} should hold ${batch.count} events, the outbox has ${events.length}`), { code: "OUTBOX_BATCH_INCOMPLETE" });
    }
    // The type decides the statuses: `events` of a `bounces` batch are all bounces (one type per range).
    return batch.type === "bounces"
      ? { eventType: "bounces", events: events.filter((e) => e.status === "bounced") }
      : { eventType: "deliveries", events: events.filter((e) => e.status !== "bounced") };
  }

  /** The endpoint took the batch: it is removed (its events become prunable). */
  delivered(id: string): Promise<boolean> {
    const at = this.#now();
    return this.#db.write(false, () => {
      const row = this.#sql.deleteBatch.get(id);
      if (row === undefined) return false;
      this.#sql.success.run(String(row.webhook_key), at);
      return true;
    });
  }

  /** A failed attempt; the batch is tried again at `next.at`. */
  reschedule(id: string, next: BatchReschedule): Promise<boolean> {
    const at = this.#now();
    const error = clip(next.lastError);
    return this.#db.write(false, () => {
      const row = this.#sql.reschedule.get(next.attempts, next.at, error, id);
      if (row === undefined) return false;
      this.#sql.failure.run(String(row.webhook_key), error, at);
      return true;
    });
  }

  /** The batch is given up (too old): removed, and counted in the webhook's facts. */
  giveUp(id: string, reason: string): Promise<boolean> {
    const at = this.#now();
    const why = clip(reason);
    return this.#db.write(false, () => {
      const row = this.#sql.deleteBatch.get(id);
      if (row === undefined) return false;
      this.#sql.giveUp.run(String(row.webhook_key), Number(row.count), at, why);
      return true;
    });
  }

  /** What each webhook with a cursor or a batch has not received yet. */
  backlog(): Map<string, WebhookBacklog> {
    const ends = this.#ends();
    const result = new Map<string, { waiting: Record<EventType, number>; batches: number; eventsInBatches: number }>();
    const entry = (key: string) => {
      let e = result.get(key);
      if (e === undefined) result.set(key, (e = { waiting: { deliveries: 0, bounces: 0 }, batches: 0, eventsInBatches: 0 }));
      return e;
    };
    for (const row of this.#sql.cursors.all()) {
      const type = row.type === "bounces" ? "bounces" : "deliveries";
      entry(String(row.webhook_key)).waiting[type] = Math.max(0, ends[type] - Number(row.last_seq));
    }
    for (const row of this.#sql.backlog.all()) {
      const e = entry(String(row.webhook_key));
      e.batches = Number(row.batches);
      e.eventsInBatches = Number(row.events);
    }
    return result;
  }

  /** Events each webhook has not received yet, waiting or in batches (the pending gauge and status). */
  pendingEvents(): Map<string, number> {
    return new Map([...this.backlog()].map(([key, b]) => [key, b.waiting.deliveries + b.waiting.bounces + b.eventsInBatches]));
  }

  /** Delivery facts per webhook (successes, errors, what was given up), kept across restarts. */
  deliveryFacts(): Map<string, WebhookDeliveryFacts> {
    const result = new Map<string, WebhookDeliveryFacts>();
    const num = (v: unknown) => (typeof v === "number" ? v : null);
    const str = (v: unknown) => (typeof v === "string" ? v : null);
    for (const row of this.#sql.stats.all()) {
      result.set(String(row.webhook_key), {
        lastSuccessAt: num(row.last_success_at),
        lastError: str(row.last_error),
        lastErrorAt: num(row.last_error_at),
        eventsGivenUp: Number(row.events_given_up),
        batchesGivenUp: Number(row.batches_given_up),
        lastGiveUpAt: num(row.last_give_up_at),
        lastGiveUpReason: str(row.last_give_up_reason),
      });
    }
    return result;
  }

  /**
   * Deletes events no webhook needs any more: those before every cursor and every batch of their type
   * (all of a type without cursors). At most a chunk per type per call; returns how many were deleted,
   * so a caller can go on while it is a full chunk.
   */
  prune(): Promise<number> {
    return this.#db.write(false, () => {
      let deleted = 0;
      const ends = this.#ends();
      for (const type of eventTypes) {
        const cursor = this.#sql.minCursor.get(type)?.seq;
        const batch = this.#sql.minBatch.get(type)?.seq;
        let horizon = typeof cursor === "number" ? cursor : ends[type];
        if (typeof batch === "number") horizon = Math.min(horizon, batch - 1);
        if (horizon > 0) deleted += Number(this.#sql.prune.run(type, horizon).changes);
      }
      return deleted;
    });
  }

  #ends(): Record<EventType, number> {
    const ends: Record<EventType, number> = { deliveries: 0, bounces: 0 };
    for (const row of this.#sql.counters.all()) if (row.type === "deliveries" || row.type === "bounces") ends[row.type] = Number(row.last);
    return ends;
  }
}

/** A batch's `webhook-id`: Standard Webhooks style, like the inbound jobs' `msg_…`. */
export function newBatchId(): string {
  return `evt_${randomBytes(16).toString("base64url")}`;
}

function pairKey(webhookKey: string, type: EventType): string {
  return `${type} ${webhookKey}`;
}

function clip(text: string): string {
  return text.length <= MAX_ERROR_CHARS ? text : `${text.slice(0, MAX_ERROR_CHARS - 1)}…`;
}

function decodeBatch(row: Record<string, unknown>): StoredBatch {
  return {
    id: String(row.id),
    webhookKey: String(row.webhook_key),
    type: row.type === "bounces" ? "bounces" : "deliveries",
    firstSeq: Number(row.first_seq),
    lastSeq: Number(row.last_seq),
    count: Number(row.count),
    formedAt: Number(row.formed_at),
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: typeof row.last_error === "string" ? row.last_error : null,
  };
}
