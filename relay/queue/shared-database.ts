// The spool database as the stores beside the inbound Spool see it (the outbound spool, the event
// outbox). There is one database, one connection (it is opened with an exclusive lock, so a second one
// is impossible) and one group-commit queue: their writes share transactions, and fsyncs, with accepts.
import type { StatementSync } from "node:sqlite";

export interface SharedDatabase {
  /** A prepared statement on the spool's connection; prepare once, at construction. */
  prepare(sql: string): StatementSync;
  /**
   * Queues `apply` for the next group commit, in a savepoint of its own (a failing write fails alone)
   * and resolves with its result once committed. `durable` writes are on disk when they settle
   * (committed on the next turn, then the WAL synced); the others (outcomes) may wait a few ms for company
   * and survive a process crash but not necessarily a power loss. Rejects with a SpoolError
   * (SPOOL_WRITE_FAILED, SPOOL_CLOSED).
   */
  write<T>(durable: boolean, apply: () => T): Promise<T>;
  /**
   * Runs `body` in a transaction of its own, now, and commits it; throws SPOOL_WRITE_FAILED (rolled
   * back) or SPOOL_CLOSED. For reads that must move state atomically and at once (forming a batch).
   * Never call it from inside a `write`.
   */
  transaction<T>(body: () => T): T;
}
