// Pure arithmetic and formatting for the bench report: no I/O here, so it is unit-tested directly.
import type { ConnectionMode, MessageSize } from "./protocol.ts";

/** "floor" is the durable floor (durable-floor.ts): a yardstick for what any durable design reaches. */
export type SystemName = "mailhook" | "baseline" | "floor";

export interface ScenarioKey {
  size: MessageSize;
  mode: ConnectionMode;
}

/** What one run of one system in one scenario produced, before summarising. */
export interface ScenarioRaw extends ScenarioKey {
  system: SystemName;
  count: number;
  concurrency: number;
  /** Per seq: send start, and receipt at the endpoint (null if it never arrived). */
  starts: (number | null)[];
  /** Per seq: when the client got `250` (null if refused or failed). */
  acks: (number | null)[];
  receipts: (number | null)[];
  failures: number;
  firstFailure: string | null;
  duplicates: number;
  timedOut: boolean;
  cpuSeconds: number;
  /** The main thread's share of cpuSeconds: its event loop. */
  loopCpuSeconds: number;
  peakRssBytes: number | null;
  /** CPU time of the load client and of the receiver over the same window. */
  clientCpuSeconds: number;
  receiverCpuSeconds: number;
}

export interface ScenarioResult extends ScenarioKey {
  system: SystemName;
  count: number;
  concurrency: number;
  received: number;
  failures: number;
  firstFailure: string | null;
  duplicates: number;
  timedOut: boolean;
  /** received / (last receipt − first send start) */
  throughput: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** `250` − send start: how long a sender waits for the system's answer. */
  ackLatencyP50Ms: number | null;
  ackLatencyP99Ms: number | null;
  cpuMsPerMessage: number | null;
  /**
   * The event loop's CPU ms per message. With cores to spare a system is bound by its busiest thread;
   * for these systems that is the event loop, which then carries at most 1000 / this msgs/s.
   */
  loopCpuMsPerMessage: number | null;
  peakRssMiB: number | null;
  /** The load client's and receiver's CPU ms per message: high values mean the harness shared the cores. */
  clientCpuMsPerMessage: number | null;
  receiverCpuMsPerMessage: number | null;
  /** Set instead of numbers when the system could not be measured (e.g. it would not start). */
  error?: string;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

const perMessage = (seconds: number, messages: number): number | null => (messages > 0 ? (seconds * 1000) / messages : null);

export function summarise(raw: ScenarioRaw): ScenarioResult {
  const latencies: number[] = [];
  let firstStart = Infinity;
  let lastReceipt = -Infinity;
  for (let seq = 0; seq < raw.count; seq++) {
    const start = raw.starts[seq];
    const receipt = raw.receipts[seq];
    if (start === null || start === undefined) continue;
    firstStart = Math.min(firstStart, start);
    if (receipt === null || receipt === undefined) continue;
    latencies.push(receipt - start);
    lastReceipt = Math.max(lastReceipt, receipt);
  }
  latencies.sort((a, b) => a - b);
  const ackLatencies = raw.acks.flatMap((ack, seq) => {
    const start = raw.starts[seq];
    return ack === null || start === null || start === undefined ? [] : [ack - start];
  });
  ackLatencies.sort((a, b) => a - b);
  const received = latencies.length;
  const span = (lastReceipt - firstStart) / 1000;
  return {
    system: raw.system,
    size: raw.size,
    mode: raw.mode,
    count: raw.count,
    concurrency: raw.concurrency,
    received,
    failures: raw.failures,
    firstFailure: raw.firstFailure,
    duplicates: raw.duplicates,
    timedOut: raw.timedOut,
    throughput: received > 0 && span > 0 ? received / span : null,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    ackLatencyP50Ms: percentile(ackLatencies, 50),
    ackLatencyP99Ms: percentile(ackLatencies, 99),
    cpuMsPerMessage: perMessage(raw.cpuSeconds, received),
    loopCpuMsPerMessage: perMessage(raw.loopCpuSeconds, received),
    peakRssMiB: raw.peakRssBytes === null ? null : raw.peakRssBytes / 1024 / 1024,
    clientCpuMsPerMessage: perMessage(raw.clientCpuSeconds, received),
    receiverCpuMsPerMessage: perMessage(raw.receiverCpuSeconds, received),
  };
}

/** The result of a system that could not be measured (e.g. it would not start). */
export function failedResult(system: SystemName, plan: ScenarioKey & { count: number; concurrency: number }, error: string): ScenarioResult {
  return {
    system, size: plan.size, mode: plan.mode, count: plan.count, concurrency: plan.concurrency,
    received: 0, failures: 0, firstFailure: null, duplicates: 0, timedOut: false,
    throughput: null, latencyP50Ms: null, latencyP99Ms: null, ackLatencyP50Ms: null, ackLatencyP99Ms: null,
    cpuMsPerMessage: null, loopCpuMsPerMessage: null, peakRssMiB: null,
    clientCpuMsPerMessage: null, receiverCpuMsPerMessage: null, error,
  };
}

/** One line on stderr per run, as the bench goes. */
export function progressLine(head: string, r: ScenarioResult): string {
  if (r.error !== undefined) return `${head}: not run: ${r.error}`;
  const f = (v: number | null, d: number) => (v === null ? "–" : v.toFixed(d));
  return `${head}: ${r.received}/${r.count} received, ${f(r.throughput, 0)} msgs/s, p50 ${f(r.latencyP50Ms, 1)} ms, ` +
    `p99 ${f(r.latencyP99Ms, 1)} ms, ${f(r.cpuMsPerMessage, 2)} CPU ms/msg${r.timedOut ? ", TIMED OUT" : ""}`;
}

/** Of repeated runs, the one with the median throughput (the lower middle for an even count); a run
 * that failed outright counts only when every run did. */
export function medianRun(runs: readonly ScenarioResult[]): ScenarioResult {
  const ok = runs.filter((r) => r.error === undefined).sort((a, b) => (a.throughput ?? -1) - (b.throughput ?? -1));
  const pick = ok[Math.floor((ok.length - 1) / 2)] ?? runs[0];
  if (pick === undefined) throw new Error("medianRun: no runs");
  return pick;
}

export interface Comparison extends ScenarioKey {
  /** mailhook / baseline; null when either side has no number. */
  throughputRatio: number | null;
  cpuPerMessageRatio: number | null;
  /** durable floor / baseline throughput; null unless both ran. */
  floorRatio: number | null;
  /** baseline / mailhook event-loop CPU per message: the throughput ratio when each is bound by its loop. */
  loopCeilingRatio: number | null;
}

export const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;

export function compare(results: readonly ScenarioResult[]): Comparison[] {
  const find = (system: SystemName, k: ScenarioKey) =>
    results.find((r) => r.system === system && r.size === k.size && r.mode === k.mode && r.error === undefined);
  const keys = uniqueKeys(results);
  return keys.map((k) => {
    const m = find("mailhook", k);
    const b = find("baseline", k);
    const f = find("floor", k);
    return {
      ...k,
      throughputRatio: complete(m) && complete(b) ? ratio(m?.throughput, b?.throughput) : null,
      cpuPerMessageRatio: complete(m) && complete(b) ? ratio(m?.cpuMsPerMessage, b?.cpuMsPerMessage) : null,
      floorRatio: complete(f) && complete(b) ? ratio(f?.throughput, b?.throughput) : null,
      loopCeilingRatio: complete(m) && complete(b) ? ratio(b?.loopCpuMsPerMessage, m?.loopCpuMsPerMessage) : null,
    };
  });
}

/** A run that lost messages or hit its timeout has no comparable throughput. */
export const complete = (r: ScenarioResult | undefined): boolean => r !== undefined && r.received === r.count && !r.timedOut;

function uniqueKeys(results: readonly ScenarioResult[]): ScenarioKey[] {
  const seen = new Map<string, ScenarioKey>();
  for (const r of results) seen.set(`${r.size}/${r.mode}`, { size: r.size, mode: r.mode });
  return [...seen.values()];
}

export const targetRatio = 1.5;

export interface TargetCheck {
  verdict: "pass" | "fail" | "not measured";
  minRatio: number | null;
  line: string;
}

export function checkTarget(comparisons: readonly Comparison[]): TargetCheck {
  const ratios = comparisons.map((c) => c.throughputRatio);
  const measured = ratios.filter((r): r is number => r !== null);
  if (measured.length === 0 || measured.length < ratios.length) {
    const why = measured.length === 0 ? "no scenario has both systems complete" : "some scenarios lack a complete run of both systems";
    return { verdict: "not measured", minRatio: measured.length === 0 ? null : Math.min(...measured), line: `target ≥${targetRatio}× baseline throughput: NOT MEASURED (${why})` };
  }
  const minRatio = Math.min(...measured);
  const verdict = minRatio >= targetRatio ? "pass" : "fail";
  return { verdict, minRatio, line: `target ≥${targetRatio}× baseline throughput in every scenario: ${verdict.toUpperCase()} (lowest ${minRatio.toFixed(2)}×)` };
}

// ---- text table ----

export const num = (v: number | null, digits: number): string => (v === null ? "–" : v.toFixed(digits));

export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The columns after the first three, shared by the inbound and outbound tables. */
export const measureHeaders = ["n", "conc", "recv", "msgs/s", "p50 ms", "p99 ms", "CPU ms/msg", "loop CPU ms/msg", "peak RSS MiB", "client+recv CPU ms/msg", "notes"] as const;

export function measureCells(r: ScenarioResult): string[] {
  return [
    String(r.count),
    String(r.concurrency),
    String(r.received),
    num(r.throughput, 0),
    num(r.latencyP50Ms, 1),
    num(r.latencyP99Ms, 1),
    num(r.cpuMsPerMessage, 2),
    num(r.loopCpuMsPerMessage, 2),
    num(r.peakRssMiB, 0),
    r.clientCpuMsPerMessage === null || r.receiverCpuMsPerMessage === null ? "–" : `${num(r.clientCpuMsPerMessage, 2)}+${num(r.receiverCpuMsPerMessage, 2)}`,
    notes(r),
  ];
}

export function formatResults(results: readonly ScenarioResult[]): string {
  return formatTable(["system", "size", "mode", ...measureHeaders], results.map((r) => [r.system, r.size, r.mode, ...measureCells(r)]));
}

function notes(r: ScenarioResult): string {
  if (r.error !== undefined) return `not run: ${r.error}`;
  const parts: string[] = [];
  if (r.timedOut) parts.push("TIMED OUT");
  if (r.failures > 0) parts.push(`${r.failures} refused/failed (${r.firstFailure ?? "?"})`);
  if (r.duplicates > 0) parts.push(`${r.duplicates} duplicate posts`);
  return parts.join("; ");
}

export const times = (v: number | null): string => (v === null ? "–" : `${v.toFixed(2)}×`);

export function formatComparisons(comparisons: readonly Comparison[]): string {
  const headers = ["size", "mode", "", "throughput mailhook/baseline", "CPU per msg mailhook/baseline", "event-loop ceiling mailhook/baseline"];
  const rows = comparisons.map((c) => [c.size, c.mode, "", times(c.throughputRatio), times(c.cpuPerMessageRatio), times(c.loopCeilingRatio)]);
  if (!comparisons.some((c) => c.floorRatio !== null)) return formatTable(headers, rows);
  return formatTable([...headers, "throughput durable floor/baseline"], rows.map((row, i) => [...row, times(comparisons[i]?.floorRatio ?? null)]));
}
