// Test mail for the spool: deterministic bodies, so a reader can check bytes it did not keep.
import { createHash } from "node:crypto";
import type { InboundMessageInput } from "../../../relay/queue/store.ts";

/** `size` bytes derived from `id` alone. */
export function rawFor(id: string, size = 2048): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update(id).digest();
  for (let i = 0; i < size; i += block.length) {
    block.copy(out, i);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

export interface MessageOptions {
  readonly receivedAt?: number;
  readonly webhookKeys?: readonly string[];
  readonly recipients?: readonly string[];
  readonly size?: number;
}

/** A mail with one job per webhook key × recipient; job ids are `<id>/<key>/<recipient>`. */
export function inboundMessage(id: string, options: MessageOptions = {}): InboundMessageInput {
  const recipients = options.recipients ?? ["user@example.com"];
  const webhookKeys = options.webhookKeys ?? ["default/orders"];
  return {
    id,
    receivedAt: options.receivedAt ?? 1_700_000_000_000,
    envelopeFrom: "sender@example.net",
    recipients,
    remoteAddress: "192.0.2.10",
    raw: rawFor(id, options.size),
    jobs: webhookKeys.flatMap((webhookKey) =>
      recipients.map((recipient) => ({ id: `${id}/${webhookKey}/${recipient}`, webhookKey, recipient })),
    ),
  };
}

/** Mail number `n` of a stream: id `m<n>`, two webhooks, a size that varies from 500 bytes to 40 kB. */
export function numberedMessage(n: number): InboundMessageInput {
  return inboundMessage(`m${n}`, { size: 500 + ((n * 7919) % 40_000), webhookKeys: ["ns/a", "ns/b"] });
}
