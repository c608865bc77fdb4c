// `npm run bench`: sustained inbound throughput of mailhook against the naive baseline (SPEC section 6).
// Four processes per measurement, all on 127.0.0.1: this harness (idle: it only keeps the books), the
// HTTPS receiver, the load client, and the system under test, started fresh for every scenario.
// Times come from the client (send start) and the receiver (receipt), on the same clock.
import { writeFile } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { cleanUpNow, forkModule, procUsage, type Child } from "./children.ts";
import { parseOptions, usage, UsageError, type BenchOptions, type ScenarioPlan } from "./options.ts";
import { isMessage, type LoadJob, type LoadResult, type Ready, type Receipts } from "./protocol.ts";
import { checkTarget, compare, formatComparisons, formatResults, medianRun, summarise, type ScenarioResult, type SystemName } from "./stats.ts";
import { MailhookUnavailable, startBaseline, startMailhook, type Endpoint, type SystemUnderTest } from "./systems.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const tls = (name: string) => fileURLToPath(new URL(`../test/fixtures/tls/${name}`, import.meta.url));
const now = () => performance.timeOrigin + performance.now();
/** An SMTP exchange that takes longer than this counts as failed. */
const messageTimeoutMs = 15_000;
/** After the last receipt, let the system finish its bookkeeping before reading its CPU time. */
const settleMs = 250;

/** First receipt per message, per run, as the receiver reports them. */
class ReceiptBook {
  #runs = new Map<string, { receipts: (number | null)[]; duplicates: number }>();

  open(run: string, count: number): void {
    this.#runs.set(run, { receipts: new Array<number | null>(count).fill(null), duplicates: 0 });
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
  }

  get(run: string): { receipts: (number | null)[]; duplicates: number } {
    const book = this.#runs.get(run);
    if (book === undefined) throw new Error(`bench: run ${run} was never opened`);
    return book;
  }

  close(run: string): void {
    this.#runs.delete(run);
  }
}

interface Receiver {
  child: Child;
  endpoint: Endpoint;
  book: ReceiptBook;
}

/** One receiver for the whole bench: it is not measured, only its CPU time is read. */
async function startReceiver(): Promise<Receiver> {
  const child = forkModule(fileURLToPath(new URL("./receiver.ts", import.meta.url)), [tls("localhost.crt"), tls("localhost.key")], "receiver");
  const book = new ReceiptBook();
  child.process.on("message", (m: unknown) => {
    if (isMessage<Receipts>(m, "receipts")) book.add(m);
  });
  const { port } = await child.message<Ready>("ready", 30_000);
  return { child, book, endpoint: { url: `https://127.0.0.1:${port}/hook`, caFile: tls("ca.crt") } };
}

interface Drive {
  starts: (number | null)[];
  acks: (number | null)[];
  receipts: (number | null)[];
  failures: number;
  firstFailure: string | null;
  duplicates: number;
  timedOut: boolean;
  clientCpuSeconds: number;
}

let runCounter = 0;

/** Send `count` messages through the system and wait for every accepted one to reach the receiver. */
async function drive(sut: SystemUnderTest, plan: ScenarioPlan, count: number, deadline: number, book: ReceiptBook): Promise<Drive> {
  const run = `r${++runCounter}`;
  book.open(run, count);
  const job: LoadJob = { run, port: sut.smtpPort, size: plan.size, mode: plan.mode, count, concurrency: plan.concurrency, messageTimeoutMs, deadline };
  const client = forkModule(fileURLToPath(new URL("./load-client.ts", import.meta.url)), [JSON.stringify(job)], "load client");
  const crashed = sut.exited.then((why) => {
    throw new Error(`the system under test died: ${why}`);
  });
  crashed.catch(() => undefined);
  try {
    const loaded = await Promise.race([
      client.message<LoadResult>("load-result", Math.max(1, deadline - now()) + messageTimeoutMs + 5000),
      crashed,
    ]);
    const accepted = loaded.acks.flatMap((ack, seq) => (ack === null ? [] : [seq]));
    const entry = book.get(run);
    const arrived = () => accepted.every((seq) => entry.receipts[seq] !== null);
    while (!arrived() && now() < deadline) await Promise.race([sleep(20), crashed]);
    return {
      starts: loaded.starts,
      acks: loaded.acks,
      receipts: entry.receipts,
      failures: loaded.failures,
      firstFailure: loaded.firstFailure,
      duplicates: entry.duplicates,
      timedOut: !arrived() || loaded.starts.some((s) => s === null),
      clientCpuSeconds: loaded.cpuSeconds,
    };
  } finally {
    await client.stop(0);
    book.close(run);
  }
}

async function measure(system: SystemName, plan: ScenarioPlan, opts: BenchOptions, receiver: Receiver): Promise<ScenarioResult> {
  const { endpoint, book } = receiver;
  const deadline = now() + opts.timeoutMs;
  const sut = system === "baseline"
    ? await startBaseline(endpoint)
    : await startMailhook(endpoint, resolve(opts.mailhookBin ?? join(repoRoot, "bin", "mailhook.ts")), repoRoot);
  try {
    // Warm-up: JIT, connection pools, the store's first pages. Enough to open every connection once.
    const warm = await drive(sut, plan, Math.min(plan.count, Math.max(50, 2 * plan.concurrency)), deadline, book);
    if (!warm.receipts.some((r) => r !== null)) {
      throw new Error(`warm-up: nothing reached the endpoint (${warm.failures} refused/failed${warm.firstFailure ? `: ${warm.firstFailure}` : ""})`);
    }
    const before = procUsage(sut.pid);
    const receiverBefore = procUsage(receiver.child.pid);
    const measured = await drive(sut, plan, plan.count, deadline, book);
    await sleep(settleMs);
    const after = procUsage(sut.pid);
    const receiverAfter = procUsage(receiver.child.pid);
    return summarise({
      system,
      ...plan,
      ...measured,
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      peakRssBytes: after.peakRssBytes,
      receiverCpuSeconds: receiverAfter.cpuSeconds - receiverBefore.cpuSeconds,
    });
  } finally {
    await sut.stop();
  }
}

function failed(system: SystemName, plan: ScenarioPlan, error: string): ScenarioResult {
  return {
    system, ...plan, received: 0, failures: 0, firstFailure: null, duplicates: 0, timedOut: false,
    throughput: null, latencyP50Ms: null, latencyP99Ms: null, ackLatencyP50Ms: null, ackLatencyP99Ms: null,
    cpuMsPerMessage: null, peakRssMiB: null,
    clientCpuMsPerMessage: null, receiverCpuMsPerMessage: null, error,
  };
}

function progress(r: ScenarioResult): string {
  const head = `${r.system} ${r.size}/${r.mode}`;
  if (r.error !== undefined) return `${head}: not run: ${r.error}`;
  const f = (v: number | null, d: number) => (v === null ? "–" : v.toFixed(d));
  return `${head}: ${r.received}/${r.count} received, ${f(r.throughput, 0)} msgs/s, p50 ${f(r.latencyP50Ms, 1)} ms, ` +
    `p99 ${f(r.latencyP99Ms, 1)} ms, ${f(r.cpuMsPerMessage, 2)} CPU ms/msg${r.timedOut ? ", TIMED OUT" : ""}`;
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }

  const receiver = await startReceiver();

  const started = Date.now();
  const results: ScenarioResult[] = [];
  const allRuns: ScenarioResult[] = [];
  let mailhookUnavailable: string | null = null;
  for (const plan of opts.scenarios) {
    const runs = new Map<SystemName, ScenarioResult[]>(opts.systems.map((s) => [s, []]));
    // Systems alternate within each repetition, so a noisy neighbour on the machine hits both alike.
    for (let rep = 0; rep < opts.repeat; rep++) {
      for (const system of opts.systems) {
        let result: ScenarioResult;
        if (system === "mailhook" && mailhookUnavailable !== null) {
          result = failed(system, plan, mailhookUnavailable);
        } else {
          try {
            result = await measure(system, plan, opts, receiver);
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            // A relay that cannot start will not start for the next scenario either: say so once.
            if (err instanceof MailhookUnavailable) mailhookUnavailable = message;
            result = failed(system, plan, message);
          }
        }
        runs.get(system)?.push(result);
        allRuns.push(result);
        process.stderr.write(`${progress(result)}\n`);
      }
    }
    for (const system of opts.systems) results.push(medianRun(runs.get(system) ?? []));
  }
  await receiver.child.stop();

  const comparisons = compare(results);
  const target = checkTarget(comparisons);
  const cpuModel = cpus()[0]?.model ?? "unknown CPU";
  process.stdout.write(
    `\nmailhook inbound bench — ${availableParallelism()} × ${cpuModel}, Node ${process.version}, ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s\n` +
      `latency = endpoint receipt − client send start (per-connection mode includes connect and the 100 ms greeting delay)\n` +
      (opts.repeat > 1 ? `each row: the run with the median throughput of ${opts.repeat}\n` : "") +
      "\n" +
      `${formatResults(results)}\n\n${formatComparisons(comparisons)}\n\n${target.line}\n`,
  );
  if (opts.json !== null) {
    const report = {
      machine: { cpus: availableParallelism(), cpuModel, node: process.version, platform: process.platform },
      options: opts,
      results,
      comparisons,
      runs: allRuns,
      target: { verdict: target.verdict, minRatio: target.minRatio },
    };
    await writeFile(opts.json, JSON.stringify(report, null, 2) + "\n");
  }
  return 0;
}

process.on("exit", cleanUpNow);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    cleanUpNow();
    process.exit(130);
  });
}
main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
