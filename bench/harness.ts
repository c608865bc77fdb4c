// The harness's side of every scenario: the collectors (HTTPS receiver, SMTP sink) and the book of what
// they received, and `drive`, which sends a run of messages through a system and waits for them to arrive.
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { forkModule, procUsage, type Child } from "./children.ts";
import { eventRun, isMessage, type ConnectionMode, type LoadJob, type LoadResult, type MessageSize, type Ready, type Receipts } from "./protocol.ts";
import type { SystemName } from "./stats.ts";
import { MailhookUnavailable, type SystemUnderTest } from "./systems.ts";

export const now = (): number => performance.timeOrigin + performance.now();
export const tlsFixture = (name: string): string => fileURLToPath(new URL(`../test/fixtures/tls/${name}`, import.meta.url));
/** An SMTP exchange that takes longer than this counts as failed. */
const messageTimeoutMs = 15_000;
/** After the last receipt, let the system finish its bookkeeping before reading its CPU time. */
const settleMs = 250;

export interface BookEntry {
  receipts: (number | null)[];
  duplicates: number;
  posts: number;
  /** Posts the endpoint refused (the backlog scenario's outage). */
  refused: number;
}

/** First receipt per message, per run (and per run and event status), as the collectors report them. */
export class ReceiptBook {
  #runs = new Map<string, BookEntry>();

  open(run: string, count: number): void {
    this.#runs.set(run, { receipts: new Array<number | null>(count).fill(null), duplicates: 0, posts: 0, refused: 0 });
  }

  add(batch: Receipts): void {
    for (const [run, seq, at] of batch.items) {
      const book = this.#runs.get(run);
      if (book === undefined || seq >= book.receipts.length || book.receipts[seq] !== null) continue;
      book.receipts[seq] = at;
    }
    for (const run of batch.duplicates) {
      const book = this.#runs.get(run);
      if (book !== undefined) book.duplicates++;
    }
    for (const run of batch.posts) {
      const book = this.#runs.get(run);
      if (book !== undefined) book.posts++;
    }
    for (const run of batch.refused) {
      const book = this.#runs.get(run);
      if (book !== undefined) book.refused++;
    }
  }

  get(run: string): BookEntry {
    const book = this.#runs.get(run);
    if (book === undefined) throw new Error(`bench: run ${run} was never opened`);
    return book;
  }

  close(run: string): void {
    this.#runs.delete(run);
  }
}

export interface Collector {
  child: Child;
  port: number;
}

/** The receiver (HTTPS) or the sink (SMTP): one per bench, not measured, only its CPU time is read. */
export async function startCollector(kind: "receiver" | "sink", book: ReceiptBook): Promise<Collector> {
  const args = kind === "receiver" ? [tlsFixture("localhost.crt"), tlsFixture("localhost.key")] : [];
  const child = forkModule(fileURLToPath(new URL(`./${kind}.ts`, import.meta.url)), args, kind);
  child.process.on("message", (m: unknown) => {
    if (isMessage<Receipts>(m, "receipts")) book.add(m);
  });
  const { port } = await child.message<Ready>("ready", 30_000);
  return { child, port };
}

export interface Load {
  size: MessageSize;
  mode: ConnectionMode;
  concurrency: number;
  recipient: string;
}

export interface Drive {
  starts: (number | null)[];
  acks: (number | null)[];
  /** Where the mail itself arrived: the receiver (inbound) or the sink (outbound). */
  receipts: (number | null)[];
  /** Per event status asked for: when the event about each message arrived at the receiver. */
  events: Map<string, (number | null)[]>;
  /** Event batches (requests) that carried events of this run. */
  eventPosts: number;
  failures: number;
  firstFailure: string | null;
  duplicates: number;
  timedOut: boolean;
  clientCpuSeconds: number;
}

let runCounter = 0;

/** Send `count` messages through the system and wait until every accepted one, and each of its events of
 * `eventStatuses`, has arrived (or the deadline has passed). */
export async function drive(
  sut: SystemUnderTest,
  load: Load,
  count: number,
  deadline: number,
  book: ReceiptBook,
  eventStatuses: readonly string[] = [],
): Promise<Drive> {
  const run = nextRun();
  const runs = [run, ...eventStatuses.map((s) => eventRun(run, s))];
  for (const r of runs) book.open(r, count);
  const crashed = died(sut);
  try {
    const loaded = await sendLoad(sut, load, count, deadline, run, crashed);
    const entries = runs.map((r) => book.get(r));
    const arrived = await waitForArrivals(entries, loaded, deadline, crashed);
    const [mail, ...events] = entries;
    return {
      starts: loaded.starts,
      acks: loaded.acks,
      receipts: mail?.receipts ?? [],
      events: new Map(eventStatuses.map((s, i) => [s, events[i]?.receipts ?? []])),
      eventPosts: events.reduce((sum, e) => sum + e.posts, 0),
      failures: loaded.failures,
      firstFailure: loaded.firstFailure,
      duplicates: entries.reduce((sum, e) => sum + e.duplicates, 0),
      timedOut: !arrived || loaded.starts.some((s) => s === null),
      clientCpuSeconds: loaded.cpuSeconds,
    };
  } finally {
    for (const r of runs) book.close(r);
  }
}

/** A fresh run name for the receipt book. */
export const nextRun = (): string => `r${++runCounter}`;

/** Rejects when the system under test exits (and never resolves otherwise). */
export function died(sut: SystemUnderTest): Promise<never> {
  const crashed = sut.exited.then((why) => {
    throw new Error(`the system under test died: ${why}`);
  });
  crashed.catch(() => undefined);
  return crashed;
}

/** Has the load client send `count` messages as `run`; resolves with its report, not waiting for arrivals. */
export async function sendLoad(sut: SystemUnderTest, load: Load, count: number, deadline: number, run: string, crashed: Promise<never>): Promise<LoadResult> {
  const job: LoadJob = { run, port: sut.smtpPort, ...load, count, messageTimeoutMs, deadline };
  const client = forkModule(fileURLToPath(new URL("./load-client.ts", import.meta.url)), [JSON.stringify(job)], "load client");
  try {
    return await Promise.race([client.message<LoadResult>("load-result", Math.max(1, deadline - now()) + messageTimeoutMs + 5000), crashed]);
  } finally {
    await client.stop(0);
  }
}

/** Waits until every message that got its `250` is in every book entry given; false if the deadline came first. */
export async function waitForArrivals(entries: readonly BookEntry[], loaded: LoadResult, deadline: number, crashed: Promise<never>): Promise<boolean> {
  const accepted = loaded.acks.flatMap((ack, seq) => (ack === null ? [] : [seq]));
  const arrived = () => entries.every((e) => accepted.every((seq) => e.receipts[seq] !== null));
  while (!arrived() && now() < deadline) await Promise.race([sleep(20), crashed]);
  return arrived();
}

export interface Measured extends Drive {
  /** The system's CPU time over the measured run: all threads, and its event loop's alone. */
  cpuSeconds: number;
  loopCpuSeconds: number;
  peakRssBytes: number | null;
  /** The collectors' CPU time over the same window. */
  collectorCpuSeconds: number;
}

/**
 * One measurement: start the system fresh; warm up with max(50, 2C) messages through the same path (JIT,
 * connection pools, the store's first pages); read CPU times; send `count`; wait for every arrival; let
 * the system settle; read CPU times and peak RSS; stop the system. `timeoutMs` bounds all of it.
 */
export async function measureRun(
  start: () => Promise<SystemUnderTest>,
  load: Load,
  count: number,
  timeoutMs: number,
  book: ReceiptBook,
  collectors: readonly Collector[],
  eventStatuses: readonly string[] = [],
): Promise<Measured> {
  const deadline = now() + timeoutMs;
  const sut = await start();
  const collectorCpu = () => collectors.reduce((sum, c) => sum + procUsage(c.child.pid).cpuSeconds, 0);
  try {
    const warm = await drive(sut, load, Math.min(count, Math.max(50, 2 * load.concurrency)), deadline, book, eventStatuses);
    if (!warm.receipts.some((r) => r !== null)) {
      throw new Error(`warm-up: nothing arrived (${warm.failures} refused/failed${warm.firstFailure ? `: ${warm.firstFailure}` : ""})`);
    }
    const before = procUsage(sut.pid);
    const collectorsBefore = collectorCpu();
    const measured = await drive(sut, load, count, deadline, book, eventStatuses);
    await sleep(settleMs);
    const after = procUsage(sut.pid);
    return {
      ...measured,
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      loopCpuSeconds: after.loopCpuSeconds - before.loopCpuSeconds,
      peakRssBytes: after.peakRssBytes,
      collectorCpuSeconds: collectorCpu() - collectorsBefore,
    };
  } finally {
    await sut.stop();
  }
}

export interface Ran<R> {
  /** Per plan and system, the median run. */
  results: R[];
  /** Every run, in the order they ran. */
  runs: R[];
}

/** How to measure, report and pick from the runs of one kind of scenario. */
export interface ScenarioKind<P, R> {
  measure(system: SystemName, plan: P): Promise<R>;
  /** The result of a system that could not be measured. */
  failed(system: SystemName, plan: P, error: string): R;
  median(runs: R[]): R;
  progress(result: R): string;
}

/** Runs plans × systems × repeats, systems alternating within each repetition so that a noisy neighbour
 * on the machine hits both alike. A mailhook that could not start is not tried again. */
export class ScenarioRunner {
  #systems: readonly SystemName[];
  #repeat: number;
  #mailhookUnavailable: string | null = null;

  constructor(systems: readonly SystemName[], repeat: number) {
    this.#systems = systems;
    this.#repeat = repeat;
  }

  async run<P, R>(plans: readonly P[], scenario: ScenarioKind<P, R>): Promise<Ran<R>> {
    const results: R[] = [];
    const all: R[] = [];
    for (const plan of plans) {
      const runs = new Map<SystemName, R[]>(this.#systems.map((s) => [s, []]));
      for (let rep = 0; rep < this.#repeat; rep++) {
        for (const system of this.#systems) {
          const result = await this.#one(system, plan, scenario);
          runs.get(system)?.push(result);
          all.push(result);
          process.stderr.write(`${scenario.progress(result)}\n`);
        }
      }
      for (const system of this.#systems) results.push(scenario.median(runs.get(system) ?? []));
    }
    return { results, runs: all };
  }

  async #one<P, R>(system: SystemName, plan: P, scenario: ScenarioKind<P, R>): Promise<R> {
    if (system === "mailhook" && this.#mailhookUnavailable !== null) return scenario.failed(system, plan, this.#mailhookUnavailable);
    try {
      return await scenario.measure(system, plan);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A relay that cannot start will not start for the next scenario either: say so once.
      if (err instanceof MailhookUnavailable) this.#mailhookUnavailable = message;
      return scenario.failed(system, plan, message);
    }
  }
}
