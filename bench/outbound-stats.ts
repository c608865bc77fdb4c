// Pure arithmetic and formatting for the outbound scenarios: the relaying numbers are the inbound ones
// (stats.ts, with the sink in the receiver's place); the event numbers are here.
import { complete, compare, formatTable, measureCells, measureHeaders, num, percentile, ratio, times, type ScenarioResult, type SystemName } from "./stats.ts";

/** relay: mail to the sink only; events: the same, with every queued/succeeded event posted to the receiver. */
export type OutboundScenario = "relay" | "events";

export interface EventRaw {
  starts: (number | null)[];
  acks: (number | null)[];
  /** Per event status: when the event about each message (by seq) arrived. */
  events: readonly (readonly (number | null)[])[];
  /** Requests that carried them. */
  posts: number;
}

export interface EventStats {
  /** One event per status for each message that got its `250`. */
  expected: number;
  received: number;
  /** received / (last receipt − first send start) */
  throughput: number | null;
  batches: number;
  batchesPerSecond: number | null;
  meanBatchSize: number | null;
  requestsPerEvent: number | null;
  /** Receipt of the event − send start of the message it is about (its cause). */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

export function summariseEvents(raw: EventRaw): EventStats {
  const latencies: number[] = [];
  let expected = 0;
  let firstStart = Infinity;
  let lastReceipt = -Infinity;
  raw.acks.forEach((ack, seq) => {
    const start = raw.starts[seq];
    if (start === null || start === undefined) return;
    firstStart = Math.min(firstStart, start);
    if (ack === null) return;
    for (const receipts of raw.events) {
      expected++;
      const at = receipts[seq];
      if (at === null || at === undefined) continue;
      latencies.push(at - start);
      lastReceipt = Math.max(lastReceipt, at);
    }
  });
  latencies.sort((a, b) => a - b);
  const received = latencies.length;
  const span = (lastReceipt - firstStart) / 1000;
  return {
    expected,
    received,
    throughput: received > 0 && span > 0 ? received / span : null,
    batches: raw.posts,
    batchesPerSecond: raw.posts > 0 && span > 0 ? raw.posts / span : null,
    meanBatchSize: raw.posts > 0 ? received / raw.posts : null,
    requestsPerEvent: received > 0 ? raw.posts / received : null,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
  };
}

export interface OutboundResult {
  scenario: OutboundScenario;
  /** The mail itself, client → system → sink. */
  mail: ScenarioResult;
  /** Only in the events scenario. */
  events: EventStats | null;
}

export interface OutboundComparison {
  scenario: OutboundScenario;
  throughputRatio: number | null;
  cpuPerMessageRatio: number | null;
  eventThroughputRatio: number | null;
  /** Requests per event of each system (the baseline's is 1 by design). */
  mailhookRequestsPerEvent: number | null;
  baselineRequestsPerEvent: number | null;
}

const eventsComplete = (r: OutboundResult | undefined): boolean =>
  r?.events !== null && r?.events !== undefined && complete(r.mail) && r.events.received === r.events.expected;

export function compareOutbound(results: readonly OutboundResult[]): OutboundComparison[] {
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  return scenarios.map((scenario) => {
    const find = (system: SystemName) => results.find((r) => r.scenario === scenario && r.mail.system === system && r.mail.error === undefined);
    const m = find("mailhook");
    const b = find("baseline");
    const [mail] = compare([m?.mail, b?.mail].filter((r): r is ScenarioResult => r !== undefined));
    const both = eventsComplete(m) && eventsComplete(b);
    return {
      scenario,
      throughputRatio: mail?.throughputRatio ?? null,
      cpuPerMessageRatio: mail?.cpuPerMessageRatio ?? null,
      eventThroughputRatio: both ? ratio(m?.events?.throughput, b?.events?.throughput) : null,
      mailhookRequestsPerEvent: m?.events?.requestsPerEvent ?? null,
      baselineRequestsPerEvent: b?.events?.requestsPerEvent ?? null,
    };
  });
}

export function formatOutboundResults(results: readonly OutboundResult[]): string {
  return formatTable(["scenario", "system", "size", ...measureHeaders], results.map((r) => [r.scenario, r.mail.system, r.mail.size, ...measureCells(r.mail)]));
}

export function formatEventResults(results: readonly OutboundResult[]): string {
  const headers = ["scenario", "system", "", "events", "recv", "events/s", "batches", "batches/s", "mean batch", "req/event", "p50 ms", "p99 ms"];
  const rows = results.flatMap((r) => {
    const e = r.events;
    if (e === null) return [];
    return [[r.scenario, r.mail.system, "", String(e.expected), String(e.received), num(e.throughput, 0), String(e.batches),
      num(e.batchesPerSecond, 1), num(e.meanBatchSize, 1), num(e.requestsPerEvent, 4), num(e.latencyP50Ms, 1), num(e.latencyP99Ms, 1)]];
  });
  return formatTable(headers, rows);
}

export function formatOutboundComparisons(comparisons: readonly OutboundComparison[]): string {
  const headers = ["scenario", "", "", "msgs/s mailhook/baseline", "CPU per msg mailhook/baseline", "events/s mailhook/baseline", "requests per event mailhook vs baseline"];
  return formatTable(headers, comparisons.map((c) => [
    c.scenario, "", "",
    times(c.throughputRatio),
    times(c.cpuPerMessageRatio),
    c.scenario === "events" ? times(c.eventThroughputRatio) : "",
    c.scenario === "events" ? `${num(c.mailhookRequestsPerEvent, 4)} vs ${num(c.baselineRequestsPerEvent, 4)}` : "",
  ]));
}
