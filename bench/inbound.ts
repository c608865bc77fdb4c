// `npm run bench`: sustained throughput of mailhook against naive baselines. This file is the entry: it
// runs the inbound scenarios (SPEC section 6, below) and the outbound ones (outbound.ts), then reports.
// Four or five processes per measurement, all on 127.0.0.1: this harness (idle: it only keeps the books),
// the HTTPS receiver, the SMTP sink (outbound), the load client, and the system under test, started fresh
// for every scenario. Times come from the client (send start) and the collectors (receipt), on one clock.
import { writeFile } from "node:fs/promises";
import { availableParallelism, cpus } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { formatBacklog, runBacklog, type BacklogResult } from "./backlog.ts";
import { cleanUpNow } from "./children.ts";
import { measureRun, ReceiptBook, ScenarioRunner, startCollector, tlsFixture, type Collector, type ScenarioKind } from "./harness.ts";
import { inboundRecipient } from "./messages.ts";
import { parseOptions, usage, UsageError, type BenchOptions, type ScenarioPlan } from "./options.ts";
import { outboundScenarios } from "./outbound.ts";
import { compareOutbound, formatEventResults, formatOutboundComparisons, formatOutboundResults } from "./outbound-stats.ts";
import { checkTarget, compare, failedResult, formatComparisons, formatResults, medianRun, progressLine, summarise, type ScenarioResult } from "./stats.ts";
import { startBaseline, startDurableFloor, startMailhook, type SystemUnderTest } from "./systems.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

function inboundScenarios(opts: BenchOptions, book: ReceiptBook, receiver: Collector): ScenarioKind<ScenarioPlan, ScenarioResult> {
  const endpoint = { url: `https://127.0.0.1:${receiver.port}/hook`, caFile: tlsFixture("ca.crt") };
  return {
    async measure(system, plan) {
      const bin = resolve(opts.mailhookBin ?? join(repoRoot, "bin", "mailhook.ts"));
      const start: Record<typeof system, () => Promise<SystemUnderTest>> = {
        baseline: () => startBaseline(endpoint),
        floor: () => startDurableFloor(endpoint),
        mailhook: () => startMailhook(endpoint, bin, repoRoot),
      };
      const m = await measureRun(
        start[system],
        { ...plan, recipient: inboundRecipient },
        plan.count,
        opts.timeoutMs,
        book,
        [receiver],
      );
      return summarise({ system, ...plan, ...m, receiverCpuSeconds: m.collectorCpuSeconds });
    },
    failed: failedResult,
    median: medianRun,
    progress: (r) => progressLine(`${r.system} ${r.size}/${r.mode}`, r),
  };
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

  const book = new ReceiptBook();
  const receiver = await startCollector("receiver", book);
  const sink = opts.outbound.length > 0 ? await startCollector("sink", book) : null;
  const runner = new ScenarioRunner(opts.systems, opts.repeat);
  const started = Date.now();
  const inbound = await runner.run(opts.scenarios, inboundScenarios(opts, book, receiver));
  const outbound = sink === null ? { results: [], runs: [] } : await runner.run(opts.outbound, outboundScenarios(opts, { book, sink, receiver }));
  let backlog: BacklogResult | { error: string } | null = null;
  if (opts.backlog !== null) {
    backlog = await runBacklog(opts, book, receiver).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
    process.stderr.write(`mailhook backlog: ${"count" in backlog ? "done" : `not run: ${backlog.error}`}\n`);
  }
  await receiver.child.stop();
  await sink?.child.stop();

  const comparisons = compare(inbound.results);
  const target = checkTarget(comparisons);
  const outboundComparisons = compareOutbound(outbound.results);
  const cpuModel = cpus()[0]?.model ?? "unknown CPU";
  const sections: string[] = [];
  if (inbound.results.length > 0) {
    sections.push(
      "inbound (SMTP → webhook post)\n" +
        "latency = endpoint receipt − client send start (per-connection mode includes connect and the 100 ms greeting delay)\n\n" +
        `${formatResults(inbound.results)}\n\n${formatComparisons(comparisons)}\n\n${target.line}`,
    );
  }
  if (outbound.results.length > 0) {
    const withEvents = outbound.results.some((r) => r.events !== null);
    sections.push(
      "outbound (submission → relay → sink SMTP server)\n" +
        "latency = sink receipt − client send start; client+recv CPU = load client + sink (+ event receiver)\n\n" +
        `${formatOutboundResults(outbound.results)}\n` +
        (withEvents ? `\nevents (queued + succeeded per mail; latency = event receipt − client send start of its mail)\n\n${formatEventResults(outbound.results)}\n` : "") +
        `\n${formatOutboundComparisons(outboundComparisons)}`,
    );
  }
  if (backlog !== null) {
    sections.push(
      "backlog (mailhook only: the endpoint answers 503 while the mails arrive, then recovers; retry every 10 s)\n\n" +
        ("count" in backlog ? formatBacklog(backlog) : `not run: ${backlog.error}`),
    );
  }
  process.stdout.write(
    `\nmailhook bench — ${availableParallelism()} × ${cpuModel}, Node ${process.version}, ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s\n` +
      (opts.repeat > 1 ? `each row: the run with the median throughput of ${opts.repeat}\n` : "") +
      `\n${sections.join("\n\n")}\n`,
  );
  if (opts.json !== null) {
    const report = {
      machine: { cpus: availableParallelism(), cpuModel, node: process.version, platform: process.platform },
      options: opts,
      results: inbound.results,
      comparisons,
      runs: inbound.runs,
      target: { verdict: target.verdict, minRatio: target.minRatio },
      outbound: { results: outbound.results, comparisons: outboundComparisons, runs: outbound.runs },
      backlog,
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
