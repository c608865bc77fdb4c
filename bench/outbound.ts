// The outbound scenarios of `npm run bench`: a relay-source client submits mail to the system, which
// relays it to the sink (an SMTP server in its own process, answering 250).
// - relay: mail only. mailhook against a naive relay (naive-outbound-baseline.ts).
// - events: the same, and every `queued` and `succeeded` event goes to the receiver's /events: mailhook
//   through an EventWebhook (batches), the naive relay with one POST per event.
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { measureRun, tlsFixture, type Collector, type ReceiptBook, type ScenarioKind } from "./harness.ts";
import { outboundRecipient } from "./messages.ts";
import type { BenchOptions, OutboundPlan } from "./options.ts";
import { summariseEvents, type OutboundResult } from "./outbound-stats.ts";
import { failedResult, medianRun, progressLine, summarise } from "./stats.ts";
import { startOutboundBaseline, startOutboundMailhook } from "./systems.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
/** The events each relayed mail causes at least (a mail that is deferred on the way causes more). */
const eventStatuses = ["queued", "succeeded"] as const;

export interface OutboundCollectors {
  book: ReceiptBook;
  sink: Collector;
  receiver: Collector;
}

export function outboundScenarios(opts: BenchOptions, c: OutboundCollectors): ScenarioKind<OutboundPlan, OutboundResult> {
  const shape = (plan: OutboundPlan) => ({ size: "small" as const, mode: "reuse" as const, count: plan.count, concurrency: plan.concurrency });
  return {
    async measure(system, plan) {
      const events = plan.scenario === "events" ? { url: `https://127.0.0.1:${c.receiver.port}/events`, caFile: tlsFixture("ca.crt") } : null;
      const bin = resolve(opts.mailhookBin ?? join(repoRoot, "bin", "mailhook.ts"));
      const m = await measureRun(
        () => (system === "baseline" ? startOutboundBaseline(c.sink.port, events) : startOutboundMailhook(c.sink.port, events, bin, repoRoot)),
        { size: "small", mode: "reuse", concurrency: plan.concurrency, recipient: outboundRecipient },
        plan.count,
        opts.timeoutMs,
        c.book,
        events === null ? [c.sink] : [c.sink, c.receiver],
        events === null ? [] : eventStatuses,
      );
      return {
        scenario: plan.scenario,
        mail: summarise({ system, ...shape(plan), ...m, receiverCpuSeconds: m.collectorCpuSeconds }),
        events: events === null ? null : summariseEvents({ starts: m.starts, acks: m.acks, events: [...m.events.values()], posts: m.eventPosts }),
      };
    },
    failed: (system, plan, error) => ({ scenario: plan.scenario, mail: failedResult(system, shape(plan), error), events: null }),
    median(runs) {
      const mail = medianRun(runs.map((r) => r.mail));
      const pick = runs.find((r) => r.mail === mail);
      if (pick === undefined) throw new Error("outbound: no runs");
      return pick;
    },
    progress(r) {
      const line = progressLine(`${r.mail.system} ${r.scenario}`, r.mail);
      const e = r.events;
      if (e === null) return line;
      const f = (v: number | null, d: number) => (v === null ? "–" : v.toFixed(d));
      return `${line}; events ${e.received}/${e.expected}, ${f(e.throughput, 0)}/s in ${e.batches} requests, p50 ${f(e.latencyP50Ms, 1)} ms`;
    },
  };
}
