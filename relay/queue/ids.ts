// Identifiers of spooled things. Random, so they reveal nothing and never collide across replicas.
// Drawn from a pool filled by the CSPRNG a few KiB at a time (as crypto.randomUUID does): one
// randomBytes call per id was 1.4% of the relay's CPU on small mail.
import { randomFillSync } from "node:crypto";

const pool = Buffer.alloc(4096);
let used = pool.length;

function randomBase64url(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const id = pool.toString("base64url", used, used + bytes);
  used += bytes;
  return id;
}

/** A delivery job's id, also its `webhook-id` header (Standard Webhooks style `msg_…`). */
export function newJobId(): string {
  return `msg_${randomBase64url(16)}`;
}

/** An accepted mail's id, e.g. for `250 queued as <id>`. */
export function newMessageId(): string {
  return randomBase64url(12);
}
