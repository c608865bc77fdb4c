// What the bench harness and its child processes (receiver, sink, load client, naive baselines) say to each
// other over the IPC channel. Times are `performance.timeOrigin + performance.now()` in every process,
// so they compare across processes on one machine.

export type MessageSize = "small" | "large";
export type ConnectionMode = "reuse" | "per-connection";

/** Every message carries `bench-<run>-<seq>` in its Subject (and Message-ID); the receiver finds it there. */
export const tokenPattern = /bench-([a-z0-9]+)-(\d+)/;
export const tokenFor = (run: string, seq: number): string => `bench-${run}-${seq}`;
/** The receipt book of a run's events of one status (`r3.queued`): a run name never contains a dot. */
export const eventRun = (run: string, status: string): string => `${run}.${status}`;

/** The load client's job, passed as its single argument (JSON). */
export interface LoadJob {
  run: string;
  port: number;
  /** Envelope recipient (and To header) of every message. */
  recipient: string;
  size: MessageSize;
  mode: ConnectionMode;
  count: number;
  concurrency: number;
  /** Give up on a message whose SMTP exchange takes longer than this. */
  messageTimeoutMs: number;
  /** Start no message after this time (same clock as the reported times); the rest stay unsent. */
  deadline: number;
}

/** Load client → harness, once, when every message was tried. Arrays are indexed by seq. */
export interface LoadResult {
  type: "load-result";
  run: string;
  /** When work on the message began: before `connect` in per-connection mode, before `MAIL FROM` otherwise;
   * null when the deadline came first. */
  starts: (number | null)[];
  /** When the `250` for the message arrived; null when it was refused or failed. */
  acks: (number | null)[];
  failures: number;
  /** The first failure, for the report (a server response or socket error). */
  firstFailure: string | null;
  /** The client's own CPU time while sending: a load generator starved of CPU limits the result. */
  cpuSeconds: number;
}

/** Receiver or sink → harness, batched: `[run, seq, receivedAt]` for each first receipt of a token (an
 * event's token counts once per status, under `eventRun(run, status)`). */
export interface Receipts {
  type: "receipts";
  items: [string, number, number][];
  /** The run of each request that carried tokens (an event batch: the `eventRun` of its first item), since the last batch. */
  posts: string[];
  /** The run of each post whose token had been seen already (at-least-once delivery), since the last batch. */
  duplicates: string[];
  /** Posts without a token, since the last batch. */
  unknown: number;
  /** The run of each post the endpoint refused (503 from `/outage` while it is down), since the last batch. */
  refused: string[];
}

/** The outbound baseline's job, passed as its single argument (JSON). */
export interface OutboundBaselineJob {
  sinkPort: number;
  /** Post every `queued` and `succeeded` event on its own to this endpoint; null: no events. */
  events: { url: string; caFile: string } | null;
}

/** Harness → receiver: the `/outage` endpoint goes down (503 to everything) or comes back (backlog.ts). */
export interface Outage {
  type: "outage";
  down: boolean;
}

export interface Ready {
  type: "ready";
  port: number;
}

export function isMessage<T extends { type: string }>(value: unknown, type: T["type"]): value is T {
  return typeof value === "object" && value !== null && (value as { type?: unknown }).type === type;
}
