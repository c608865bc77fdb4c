// Small value helpers shared by the spool's stores. Pure.
import { createHash } from "node:crypto";

/** Longest free text (an error, a reason, a header value) stored in a column. */
export const MAX_STORED_TEXT_CHARS = 2048;

/** Text cut to MAX_STORED_TEXT_CHARS, with an ellipsis when cut. */
export function clip(text: string): string {
  return text.length <= MAX_STORED_TEXT_CHARS ? text : `${text.slice(0, MAX_STORED_TEXT_CHARS - 1)}…`;
}

/** The digest stored with each mail body and checked when it is read back. */
export function sha256(data: Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

export function isText(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}
