// The spool's errors. Callers branch on `code`, never on the message or the class.

export type SpoolErrorCode =
  /** A write (accept, outcome, quarantine) was not committed; for accept the SMTP side answers 4xx. */
  | "SPOOL_WRITE_FAILED"
  /** The caller passed something the spool cannot store (a bug in the caller, not a disk problem). */
  | "SPOOL_INVALID_INPUT"
  /** The spool was closed; nothing more is accepted. */
  | "SPOOL_CLOSED"
  /** Another process holds the spool database: one process owns a spool. */
  | "SPOOL_LOCKED"
  /** The database could not be opened for a reason other than corruption (permissions, disk, …). */
  | "SPOOL_OPEN_FAILED"
  /** The database was written by a newer mailhook; it is left untouched. */
  | "SPOOL_SCHEMA_TOO_NEW"
  | "SPOOL_MIGRATION_FAILED";

export class SpoolError extends Error {
  readonly code: SpoolErrorCode;

  constructor(code: SpoolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SpoolError";
    this.code = code;
  }
}

/** SQLite's primary result code from a node:sqlite error, if it is one. */
export function sqliteResultCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("errcode" in error)) return undefined;
  return typeof error.errcode === "number" ? error.errcode & 0xff : undefined;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
