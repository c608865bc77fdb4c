// The backlog scenario of `npm run bench -- --benches backlog` (SPEC section 6: memory stays bounded while
// an endpoint is down and mail waits; issue 2: an endpoint down, then up, gets its mail). mailhook only:
// the naive baseline answers 451 to mail its endpoint refuses, so it has no backlog to measure.
// 1. mailhook starts with one InboundWebhook whose endpoint (the receiver's /outage) answers 503 to
//    everything; retry every 10 s, so every queued post is tried again and again while mail arrives.
// 2. The load client sends N small mails, many per connection. Each is accepted durably and queued.
// 3. The endpoint comes back; the harness waits until every accepted mail has arrived there.
// The relay's RSS is sampled every 250 ms throughout.
import { setTimeout as sleep } from "node:timers/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { procUsage } from "./children.ts";
import { died, now, nextRun, sendLoad, tlsFixture, waitForArrivals, type Collector, type ReceiptBook } from "./harness.ts";
import { inboundRecipient } from "./messages.ts";
import type { BenchOptions } from "./options.ts";
import type { Outage } from "./protocol.ts";
import { formatTable, num, percentile } from "./stats.ts";
import { startMailhook } from "./systems.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const sampleEveryMs = 250;
const MiB = 1024 * 1024;

export interface BacklogResult {
  count: number;
  accepted: number;
  failures: number;
  firstFailure: string | null;
  /** Accepted mails per second, overall and over the first and the last tenth of them (by `250` time). */
  intakeMsgsPerSecond: number | null;
  firstTenthMsgsPerSecond: number | null;
  lastTenthMsgsPerSecond: number | null;
  ackLatencyP99Ms: number | null;
  /** The relay's CPU per accepted mail while the endpoint was down (retries included). */
  intakeCpuMsPerMessage: number | null;
  rssMiB: { start: number | null; intakePeak: number | null; intakeEnd: number | null; drainPeak: number | null };
  /** From the endpoint's recovery to the last arrival. */
  drainSeconds: number | null;
  drainMsgsPerSecond: number | null;
  received: number;
  duplicates: number;
  /** Posts the endpoint refused while it was down: what the relay's retries cost it. */
  refusedPosts: number;
  timedOut: boolean;
  error?: string;
}

/** Mails per second over the `250`s from index `from` to `to` (sorted ack times). */
export function ackRate(sortedAcks: readonly number[], from: number, to: number): number | null {
  const first = sortedAcks[from];
  const last = sortedAcks[to];
  return first === undefined || last === undefined || last <= first ? null : (to - from) / ((last - first) / 1000);
}

/** RSS samples of a process, every 250 ms, until stopped; the highest seen so far on demand. */
class RssSampler {
  readonly #pid: number;
  #peak: number | null = null;
  #timer: NodeJS.Timeout;
  constructor(pid: number) {
    this.#pid = pid;
    this.#timer = setInterval(() => this.sample(), sampleEveryMs);
  }
  sample(): number | null {
    const rss = procUsage(this.#pid).rssBytes;
    if (rss !== null) this.#peak = Math.max(this.#peak ?? 0, rss);
    return rss === null ? null : rss / MiB;
  }
  /** The peak since the last call, and a fresh start for the next. */
  takePeak(): number | null {
    this.sample();
    const peak = this.#peak;
    this.#peak = null;
    return peak === null ? null : peak / MiB;
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

export async function runBacklog(opts: BenchOptions, book: ReceiptBook, receiver: Collector): Promise<BacklogResult> {
  const { count, concurrency } = opts.backlog ?? { count: 0, concurrency: 1 };
  const outage = (down: boolean) => receiver.child.process.send({ type: "outage", down } satisfies Outage);
  outage(true);
  const endpoint = { url: `https://127.0.0.1:${receiver.port}/outage`, caFile: tlsFixture("ca.crt") };
  const bin = resolve(opts.mailhookBin ?? join(repoRoot, "bin", "mailhook.ts"));
  const sut = await startMailhook(endpoint, bin, repoRoot);
  const rss = new RssSampler(sut.pid);
  const run = nextRun();
  book.open(run, count);
  try {
    const crashed = died(sut);
    const start = rss.sample();
    rss.takePeak();
    const cpuBefore = procUsage(sut.pid).cpuSeconds;
    const loaded = await sendLoad(sut, { size: "small", mode: "reuse", concurrency, recipient: inboundRecipient }, count, now() + opts.timeoutMs, run, crashed);
    const intakeCpu = procUsage(sut.pid).cpuSeconds - cpuBefore;
    const intakeEnd = rss.sample();
    const intakePeak = rss.takePeak();
    const acks = loaded.acks.filter((a): a is number => a !== null).sort((a, b) => a - b);
    const ackLatencies = loaded.acks.flatMap((ack, seq) => (ack === null ? [] : [ack - (loaded.starts[seq] ?? ack)])).sort((a, b) => a - b);
    // (Spreading 10^5 values into Math.min would overflow the stack.)
    const firstStart = loaded.starts.reduce<number>((min, s) => (s === null ? min : Math.min(min, s)), Infinity);
    const tenth = Math.max(1, Math.floor(acks.length / 10));

    // Receipts reach the book in 50 ms batches: let the refusals of the outage arrive first.
    await sleep(100);
    const entry = book.get(run);
    const refusedPosts = entry.refused;
    const recoveredAt = now();
    outage(false);
    const arrived = await waitForArrivals([entry], loaded, recoveredAt + opts.timeoutMs, crashed);
    const receipts = entry.receipts.filter((r): r is number => r !== null);
    const lastReceipt = receipts.length === 0 ? null : receipts.reduce((max, r) => Math.max(max, r), -Infinity);
    const drainSeconds = lastReceipt === null ? null : (lastReceipt - recoveredAt) / 1000;
    return {
      count,
      accepted: acks.length,
      failures: loaded.failures,
      firstFailure: loaded.firstFailure,
      intakeMsgsPerSecond: acks.length === 0 ? null : acks.length / (((acks.at(-1) ?? firstStart) - firstStart) / 1000),
      firstTenthMsgsPerSecond: ackRate(acks, 0, tenth),
      lastTenthMsgsPerSecond: ackRate(acks, acks.length - 1 - tenth, acks.length - 1),
      ackLatencyP99Ms: percentile(ackLatencies, 99),
      intakeCpuMsPerMessage: acks.length === 0 ? null : (intakeCpu * 1000) / acks.length,
      rssMiB: { start, intakePeak, intakeEnd, drainPeak: rss.takePeak() },
      drainSeconds,
      drainMsgsPerSecond: drainSeconds === null || drainSeconds <= 0 ? null : receipts.length / drainSeconds,
      received: receipts.length,
      duplicates: entry.duplicates,
      refusedPosts,
      timedOut: !arrived,
    };
  } finally {
    rss.stop();
    book.close(run);
    outage(true);
    await sut.stop();
    await sleep(0);
  }
}

export function formatBacklog(r: BacklogResult): string {
  const headers = ["mails", "accepted", "intake msgs/s", "first/last 10% msgs/s", "250 p99 ms", "CPU ms/mail", "RSS MiB start/intake peak/end", "posts refused", "drain s", "drain msgs/s", "received", "notes"];
  const notes = [
    r.error === undefined ? "" : `not run: ${r.error}`,
    r.failures > 0 ? `${r.failures} refused/failed (${r.firstFailure ?? "?"})` : "",
    r.duplicates > 0 ? `${r.duplicates} duplicate posts` : "",
    r.timedOut ? "TIMED OUT" : "",
  ].filter((n) => n !== "");
  const m = r.rssMiB;
  return formatTable(headers, [[
    String(r.count), String(r.accepted), num(r.intakeMsgsPerSecond, 0), `${num(r.firstTenthMsgsPerSecond, 0)}/${num(r.lastTenthMsgsPerSecond, 0)}`,
    num(r.ackLatencyP99Ms, 1), num(r.intakeCpuMsPerMessage, 2), `${num(m.start, 0)}/${num(m.intakePeak, 0)}/${num(m.intakeEnd, 0)}`, String(r.refusedPosts),
    num(r.drainSeconds, 1), num(r.drainMsgsPerSecond, 0), String(r.received), notes.join("; "),
  ]]) + `\nRSS while draining: peak ${num(m.drainPeak, 0)} MiB`;
}
