// Identifiers of spooled things. Random, so they reveal nothing and never collide across replicas.
import { randomBytes } from "node:crypto";

/** A delivery job's id, also its `webhook-id` header (Standard Webhooks style `msg_…`). */
export function newJobId(): string {
  return `msg_${randomBytes(16).toString("base64url")}`;
}

/** An accepted mail's id, e.g. for `250 queued as <id>`. */
export function newMessageId(): string {
  return randomBytes(12).toString("base64url");
}
