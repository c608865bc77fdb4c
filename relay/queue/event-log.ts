// The `events` table: appending events (inside the transaction of the state change they describe, the
// outbox rule) and reading them back as DeliveryEvents. Shared by the outbound spool, which writes
// them, and the event outbox, which batches them.
import type { SQLOutputValue, StatementSync } from "node:sqlite";
import { errorStatuses, eventTypeOf, type DeliveryEvent, type EventType } from "../events/types.ts";
import type { SharedDatabase } from "./shared-database.ts";
import { clip } from "./values.ts";

/** Texts an event keeps at most (a reason may quote a long server reply; a subject may be hostile). */

const INSERT = `INSERT INTO events (type, type_seq, created_at, status, return_path, header_from, recipient,
    message_id_header, subject, reason, sender_ip, source_ip, api_data, error_status, enhanced_status)
  VALUES (?1, (SELECT last + 1 FROM event_type_counters WHERE type = ?1), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const SELECT_RANGE = `SELECT type_seq, created_at, status, return_path, header_from, recipient, message_id_header,
    subject, reason, sender_ip, source_ip, api_data, error_status, enhanced_status
  FROM events WHERE type = ? AND type_seq BETWEEN ? AND ? ORDER BY type_seq`;

export class EventLog {
  readonly #insert: StatementSync;
  readonly #range: StatementSync;

  constructor(db: SharedDatabase) {
    this.#insert = db.prepare(INSERT);
    this.#range = db.prepare(SELECT_RANGE);
  }

  /** Appends one event. Only inside a write or transaction of the state change it records. */
  append(event: DeliveryEvent): void {
    const bounce = event.status === "bounced" ? event : undefined;
    this.#insert.run(
      eventTypeOf(event.status),
      event.createdAt,
      event.status,
      clip(event.returnPath),
      clip(event.from),
      clip(event.to),
      clip(event.messageId),
      clip(event.subject),
      clip(event.reason),
      event.senderIp,
      event.sourceIp,
      clip(event.apiData),
      bounce?.errorStatus ?? null,
      bounce?.enhancedStatus ?? "",
    );
  }

  /** The events of `type` numbered `first..last`, in order. */
  read(type: EventType, first: number, last: number): DeliveryEvent[] {
    return this.#range.all(type, first, last).map(decodeEvent);
  }
}


function decodeEvent(row: Record<string, SQLOutputValue>): DeliveryEvent {
  const facts = {
    createdAt: Number(row.created_at),
    returnPath: String(row.return_path),
    from: String(row.header_from),
    to: String(row.recipient),
    messageId: String(row.message_id_header),
    subject: String(row.subject),
    apiData: String(row.api_data),
    reason: String(row.reason),
    senderIp: String(row.sender_ip),
    sourceIp: String(row.source_ip),
  };
  const status = String(row.status);
  if (status === "bounced") {
    const code = Number(row.error_status);
    const errorStatus = errorStatuses.find((s) => s === code) ?? 99;
    return { ...facts, status, errorStatus, enhancedStatus: String(row.enhanced_status) };
  }
  if (status === "queued" || status === "succeeded" || status === "failed" || status === "deferred") return { ...facts, status };
  // The table's CHECK constraint admits no other status.
  throw new Error(`event ${String(row.type_seq)} has unknown status ${status}`);
}
