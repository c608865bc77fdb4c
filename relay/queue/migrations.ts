// The spool's schema, as an append-only list of migrations. `schema_migrations` records each one
// applied, so a later mailhook (outbound jobs, the event outbox) appends version 2, 3, … and every
// existing spool upgrades in place on open. Never edit a migration that has shipped; add one.
//
// Tables of the inbound side are named `inbound_*`, of the outbound side `outbound_*`, of the event
// outbox `event*`. Times are milliseconds since the epoch.
import type { DatabaseSync } from "node:sqlite";
import { SpoolError, describe } from "./errors.ts";

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "inbound spool",
    sql: `
      -- One row per accepted mail. Small rows: the body lives in inbound_bodies so that scanning jobs
      -- with their message metadata never pages through message bodies.
      CREATE TABLE inbound_messages (
        id TEXT PRIMARY KEY,
        received_at INTEGER NOT NULL,
        envelope_from TEXT NOT NULL,
        recipients TEXT NOT NULL,          -- JSON array: every envelope recipient of the mail
        remote_address TEXT NOT NULL,
        size INTEGER NOT NULL,             -- bytes of raw
        sha256 BLOB NOT NULL               -- of raw, checked on every read
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE inbound_bodies (
        message_id TEXT PRIMARY KEY REFERENCES inbound_messages(id) ON DELETE CASCADE,
        raw BLOB NOT NULL
      ) STRICT;

      -- One row per (matching webhook x envelope recipient). seq is the creation order; AUTOINCREMENT so
      -- it never reuses the number of a deleted job. id is the stable webhook-id header.
      CREATE TABLE inbound_jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL REFERENCES inbound_messages(id),
        webhook_key TEXT NOT NULL,
        recipient TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        first_seen_at INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT
      ) STRICT;
      -- Due jobs are read per webhook, so a suspended webhook's backlog is never scanned.
      CREATE INDEX inbound_jobs_by_webhook_due ON inbound_jobs (webhook_key, next_attempt_at);
      CREATE INDEX inbound_jobs_by_webhook_age ON inbound_jobs (webhook_key, first_seen_at);
      CREATE INDEX inbound_jobs_by_message ON inbound_jobs (message_id);

      -- Jobs given up (period over, 410 Gone): kept with the message's metadata; the body is dropped
      -- with the message once its last job has left. Not unique on id: recording a give-up never fails.
      CREATE TABLE inbound_dead_jobs (
        id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        webhook_key TEXT NOT NULL,
        recipient TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_seen_at INTEGER NOT NULL,
        last_error TEXT,
        received_at INTEGER,
        envelope_from TEXT,
        remote_address TEXT,
        reason TEXT NOT NULL,
        given_up_at INTEGER NOT NULL
      ) STRICT;

      -- Unreadable mail (checksum mismatch, missing body or row, undecodable metadata) and its jobs,
      -- moved here whole, never deleted. Deliberately not STRICT and untyped where copied: evidence
      -- from a damaged row must be storable whatever it holds.
      CREATE TABLE inbound_quarantined_messages (
        id, received_at, envelope_from, recipients, remote_address, size, sha256, raw,
        reason TEXT NOT NULL,
        quarantined_at INTEGER NOT NULL
      );
      CREATE TABLE inbound_quarantined_jobs (
        seq, id, message_id, webhook_key, recipient, attempts, first_seen_at, next_attempt_at, last_error,
        reason TEXT NOT NULL,
        quarantined_at INTEGER NOT NULL
      );

      -- Counters kept by triggers, in the same transaction as the rows they count, so that metrics and
      -- status never run count(*) over millions of rows.
      CREATE TABLE inbound_pending (
        webhook_key TEXT PRIMARY KEY,
        jobs INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE TRIGGER inbound_pending_add AFTER INSERT ON inbound_jobs BEGIN
        INSERT INTO inbound_pending (webhook_key, jobs) VALUES (NEW.webhook_key, 1)
          ON CONFLICT (webhook_key) DO UPDATE SET jobs = jobs + 1;
      END;
      CREATE TRIGGER inbound_pending_remove AFTER DELETE ON inbound_jobs BEGIN
        UPDATE inbound_pending SET jobs = jobs - 1 WHERE webhook_key = OLD.webhook_key;
        DELETE FROM inbound_pending WHERE webhook_key = OLD.webhook_key AND jobs <= 0;
      END;
      CREATE TRIGGER inbound_jobs_keep_webhook BEFORE UPDATE OF webhook_key ON inbound_jobs BEGIN
        SELECT RAISE(ABORT, 'inbound_jobs.webhook_key is immutable (inbound_pending counts by it)');
      END;

      CREATE TABLE inbound_totals (
        name TEXT PRIMARY KEY,
        n INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO inbound_totals (name, n) VALUES ('messages', 0), ('dead_jobs', 0), ('quarantined_jobs', 0);
      CREATE TRIGGER inbound_totals_message_add AFTER INSERT ON inbound_messages BEGIN
        UPDATE inbound_totals SET n = n + 1 WHERE name = 'messages';
      END;
      CREATE TRIGGER inbound_totals_message_remove AFTER DELETE ON inbound_messages BEGIN
        UPDATE inbound_totals SET n = n - 1 WHERE name = 'messages';
      END;
      CREATE TRIGGER inbound_totals_dead_add AFTER INSERT ON inbound_dead_jobs BEGIN
        UPDATE inbound_totals SET n = n + 1 WHERE name = 'dead_jobs';
      END;
      CREATE TRIGGER inbound_totals_dead_remove AFTER DELETE ON inbound_dead_jobs BEGIN
        UPDATE inbound_totals SET n = n - 1 WHERE name = 'dead_jobs';
      END;
      CREATE TRIGGER inbound_totals_quarantined_add AFTER INSERT ON inbound_quarantined_jobs BEGIN
        UPDATE inbound_totals SET n = n + 1 WHERE name = 'quarantined_jobs';
      END;
      CREATE TRIGGER inbound_totals_quarantined_remove AFTER DELETE ON inbound_quarantined_jobs BEGIN
        UPDATE inbound_totals SET n = n - 1 WHERE name = 'quarantined_jobs';
      END;
    `,
  },
  {
    version: 2,
    name: "outbound spool and event outbox",
    sql: `
      -- Mail accepted from relay-source servers. The header facts every event repeats (From, Subject,
      -- Message-ID, the apiData header) are extracted once at acceptance.
      CREATE TABLE outbound_messages (
        id TEXT PRIMARY KEY,
        received_at INTEGER NOT NULL,
        envelope_from TEXT NOT NULL,       -- MAIL FROM as the relay-source gave it; '' = null sender
        source_ip TEXT NOT NULL,           -- the relay-source server's address
        header_from TEXT NOT NULL,
        subject TEXT NOT NULL,
        message_id_header TEXT NOT NULL,
        api_data TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 BLOB NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE outbound_bodies (
        message_id TEXT PRIMARY KEY REFERENCES outbound_messages(id) ON DELETE CASCADE,
        raw BLOB NOT NULL
      ) STRICT;

      -- One row per envelope recipient still to deliver. id is also the VERP token of the return path,
      -- so an asynchronous bounce names its job. seq: creation order, never reused.
      CREATE TABLE outbound_jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL REFERENCES outbound_messages(id),
        recipient TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        first_seen_at INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT
      ) STRICT;
      CREATE INDEX outbound_jobs_due ON outbound_jobs (next_attempt_at, seq);
      CREATE INDEX outbound_jobs_by_age ON outbound_jobs (first_seen_at);
      CREATE INDEX outbound_jobs_by_message ON outbound_jobs (message_id);

      -- Delivered jobs with what a later bounce mail's event needs, kept for a while (pruned by
      -- delivered_at) so that asynchronous bounces arriving days later are still attributed.
      CREATE TABLE outbound_sent (
        id TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,
        envelope_from TEXT NOT NULL,
        header_from TEXT NOT NULL,
        subject TEXT NOT NULL,
        message_id_header TEXT NOT NULL,
        api_data TEXT NOT NULL,
        delivered_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX outbound_sent_by_time ON outbound_sent (delivered_at);

      -- Unreadable outbound mail and its jobs, moved whole, never deleted (see the inbound ones).
      CREATE TABLE outbound_quarantined_messages (
        id, received_at, envelope_from, source_ip, header_from, subject, message_id_header, api_data,
        size, sha256, raw,
        reason TEXT NOT NULL,
        quarantined_at INTEGER NOT NULL
      );
      CREATE TABLE outbound_quarantined_jobs (
        seq, id, message_id, recipient, attempts, first_seen_at, next_attempt_at, last_error,
        reason TEXT NOT NULL,
        quarantined_at INTEGER NOT NULL
      );

      CREATE TABLE outbound_totals (
        name TEXT PRIMARY KEY,
        n INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO outbound_totals (name, n) VALUES ('jobs', 0), ('quarantined_jobs', 0);
      CREATE TRIGGER outbound_totals_job_add AFTER INSERT ON outbound_jobs BEGIN
        UPDATE outbound_totals SET n = n + 1 WHERE name = 'jobs';
      END;
      CREATE TRIGGER outbound_totals_job_remove AFTER DELETE ON outbound_jobs BEGIN
        UPDATE outbound_totals SET n = n - 1 WHERE name = 'jobs';
      END;
      CREATE TRIGGER outbound_totals_quarantined_add AFTER INSERT ON outbound_quarantined_jobs BEGIN
        UPDATE outbound_totals SET n = n + 1 WHERE name = 'quarantined_jobs';
      END;

      -- The event outbox: every state change above writes its events in the same transaction. seq is
      -- the global order; type_seq numbers the events of one type without gaps (1, 2, 3, …), so what a
      -- webhook has waiting is a subtraction, never a count over the backlog.
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL CHECK (type IN ('deliveries', 'bounces')),
        type_seq INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'succeeded', 'failed', 'deferred', 'bounced')),
        return_path TEXT NOT NULL,
        header_from TEXT NOT NULL,
        recipient TEXT NOT NULL,
        message_id_header TEXT NOT NULL,
        subject TEXT NOT NULL,
        reason TEXT NOT NULL,
        sender_ip TEXT NOT NULL,
        source_ip TEXT NOT NULL,
        api_data TEXT NOT NULL,
        error_status INTEGER,              -- bounced only
        enhanced_status TEXT NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX events_by_type ON events (type, type_seq);

      -- The last type_seq given out per type (never goes back, even when every event was pruned).
      CREATE TABLE event_type_counters (
        type TEXT PRIMARY KEY,
        last INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO event_type_counters (type, last) VALUES ('deliveries', 0), ('bounces', 0);
      CREATE TRIGGER events_count AFTER INSERT ON events BEGIN
        UPDATE event_type_counters SET last = NEW.type_seq WHERE type = NEW.type;
      END;

      -- Per EventWebhook and subscribed type: the last type_seq put into a batch. removed_at is set
      -- when the webhook (or its subscription to the type) disappears; the cursor and its batches are
      -- kept for a grace period so a webhook that comes back resumes where it was.
      CREATE TABLE event_cursors (
        webhook_key TEXT NOT NULL,
        type TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        removed_at INTEGER,
        PRIMARY KEY (webhook_key, type)
      ) STRICT, WITHOUT ROWID;

      -- Formed batches not delivered yet: the events of type with type_seq first_seq..last_seq. A batch
      -- is formed once and retried as is; id is its webhook-id. seq: formation order (sending order).
      CREATE TABLE event_batches (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        webhook_key TEXT NOT NULL,
        type TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        count INTEGER NOT NULL,
        formed_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT
      ) STRICT;
      CREATE INDEX event_batches_by_webhook ON event_batches (webhook_key, seq);
      CREATE INDEX event_batches_by_type ON event_batches (type, first_seq);

      -- Delivery facts per webhook for its status: successes, the last error, what was given up.
      CREATE TABLE event_webhook_stats (
        webhook_key TEXT PRIMARY KEY,
        last_success_at INTEGER,
        last_error TEXT,
        last_error_at INTEGER,
        events_given_up INTEGER NOT NULL DEFAULT 0,
        batches_given_up INTEGER NOT NULL DEFAULT 0,
        last_give_up_at INTEGER,
        last_give_up_reason TEXT
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: "outbound suppression list",
    sql: `
      -- Recipients that hard-bounced (unknown user); with outbound.suppression on, later mail
      -- to them fails at once with error status 10 instead of being sent again.
      CREATE TABLE outbound_suppressed (
        address TEXT PRIMARY KEY,
        error_status INTEGER NOT NULL,
        reason TEXT NOT NULL,
        suppressed_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: "inbound bodies in segment files",
    sql: `
      -- A fresh mail's body is appended to spool.dir/bodies/<body_segment>.seg at body_offset (size
      -- bytes, checked against sha256); NULL: it is in inbound_bodies. See body-segments.ts.
      ALTER TABLE inbound_messages ADD COLUMN body_segment INTEGER;
      ALTER TABLE inbound_messages ADD COLUMN body_offset INTEGER;
      CREATE INDEX inbound_messages_in_segments ON inbound_messages (body_segment) WHERE body_segment IS NOT NULL;
      -- The highest segment number created for this database: an unreferenced segment above it is not
      -- this database's (its own was moved aside or lost) and is quarantined, not deleted.
      CREATE TABLE spool_marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT, WITHOUT ROWID;
      INSERT INTO spool_marks (name, value) VALUES ('body_segment_high', 0);
    `,
  },
];

/** Brings the database to the latest version, one transaction per migration. */
export function migrate(db: DatabaseSync, now: number): { from: number; to: number } {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const row = db.prepare("SELECT max(version) AS version FROM schema_migrations").get();
  const from = typeof row?.version === "number" ? row.version : 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (from > latest) {
    throw new SpoolError(
      "SPOOL_SCHEMA_TOO_NEW",
      `spool schema is version ${from} but this mailhook knows up to ${latest}; refusing to open it (downgrades are not supported)`,
    );
  }
  const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  for (const m of migrations) {
    if (m.version <= from) continue;
    try {
      db.exec("BEGIN IMMEDIATE");
      db.exec(m.sql);
      record.run(m.version, m.name, now);
      db.exec("COMMIT");
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw new SpoolError("SPOOL_MIGRATION_FAILED", `spool migration ${m.version} (${m.name}) failed: ${describe(error)}`, {
        cause: error,
      });
    }
  }
  return { from, to: latest };
}
