// `npm run bench -- [flags]`: what to run and how hard. Pure: argv and env in, a plan out.
import { parseArgs } from "node:util";
import type { ConnectionMode, MessageSize } from "./protocol.ts";
import type { OutboundScenario } from "./outbound-stats.ts";
import type { SystemName } from "./stats.ts";

export interface ScenarioPlan {
  size: MessageSize;
  mode: ConnectionMode;
  count: number;
  concurrency: number;
}

/** Outbound scenarios: always ~2 KB mail, many messages per connection. */
export interface OutboundPlan {
  scenario: OutboundScenario;
  count: number;
  concurrency: number;
}

export interface BenchOptions {
  systems: SystemName[];
  /** Inbound scenarios. */
  scenarios: ScenarioPlan[];
  outbound: OutboundPlan[];
  /** The backlog scenario (backlog.ts), mailhook only; null unless asked for. */
  backlog: { count: number; concurrency: number } | null;
  /** Hard limit per scenario and system, warm-up included. */
  timeoutMs: number;
  /** The mailhook CLI entry to run; null: bin/mailhook.ts of this checkout. */
  mailhookBin: string | null;
  /** Runs per system and scenario; the report shows the median one. */
  repeat: number;
  json: string | null;
  help: boolean;
}

export const usage = `usage: npm run bench -- [options]

Sustained throughput, latency, CPU per message and peak RSS of mailhook and of a naive baseline,
everything on 127.0.0.1, and the ratio mailhook/baseline per scenario:
  inbound  SMTP → webhook post, against SPEC section 6's naive baseline (4 scenarios: sizes × modes)
  relay    submission → relay → sink SMTP server, against a naive relay (smtp-server → nodemailer pool)
  events   relay, plus queued/succeeded events to an EventWebhook in batches, against the naive relay
           posting each event on its own

  --quick                 a short run (a fifth of the messages)
  --n N                   messages per scenario (default: per scenario, see below)   env BENCH_N
  --concurrency C         connections in "reuse", relay, events (default 16)         env BENCH_CONCURRENCY
  --conn-concurrency C    connections in "per-connection" mode (default 256)         env BENCH_CONN_CONCURRENCY
  --timeout SECONDS       hard limit per scenario and system (default 60)            env BENCH_TIMEOUT
  --repeat R              runs per scenario; the median is reported (default 1)      env BENCH_REPEAT
  --benches LIST          inbound,relay,events,backlog (default inbound,relay,events); backlog: the
                          endpoint down while mail arrives, then up (mailhook only, bench/backlog.ts)
  --systems LIST          baseline,floor,mailhook (default baseline,mailhook); floor is the durable
                          floor, the least a durable relay can do (bench/durable-floor.ts), inbound only
  --sizes LIST            inbound: small,large (default both): ~2 KB text; ~100 KB with a 70 KB attachment
  --modes LIST            inbound: reuse,per-connection (default both)
  --mailhook FILE         the mailhook CLI to run (default bin/mailhook.ts here), e.g. another checkout's
  --json FILE             also write the results as JSON to FILE
  --help

Default messages per scenario: inbound small/reuse 8000, small/per-connection 4000, large/reuse 3000,
large/per-connection 2000; relay 4000; events 4000 (relay and events: small, reuse); backlog 50000 (small, reuse). smtp-server holds every new connection 100 ms before its greeting, so in
per-connection mode C connections carry at most C / 0.1 s messages/s: at C=64 both systems would top
out near 600/s on the greeting alone, hence the default of 256.`;

const defaultCounts: Record<`${MessageSize}/${ConnectionMode}`, number> = {
  "small/reuse": 8000,
  "small/per-connection": 4000,
  "large/reuse": 3000,
  "large/per-connection": 2000,
};
const defaultOutboundCounts: Record<OutboundScenario, number> = { relay: 4000, events: 4000 };

export class UsageError extends Error {
  code = "BENCH_USAGE";
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got "${value}"`);
  return n;
}

function list<T extends string>(name: string, value: string | undefined, allowed: readonly T[], byDefault: readonly T[] = allowed): T[] {
  if (value === undefined) return [...byDefault];
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (items.length === 0 || bad.length > 0) throw new UsageError(`${name} takes a comma-separated list of ${allowed.join(", ")}; got "${value}"`);
  return allowed.filter((a) => items.includes(a));
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: "boolean" },
        n: { type: "string" },
        concurrency: { type: "string" },
        "conn-concurrency": { type: "string" },
        timeout: { type: "string" },
        repeat: { type: "string" },
        benches: { type: "string" },
        systems: { type: "string" },
        sizes: { type: "string" },
        modes: { type: "string" },
        mailhook: { type: "string" },
        json: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const n = positiveInt("--n", values.n ?? env.BENCH_N);
  const reuseC = positiveInt("--concurrency", values.concurrency ?? env.BENCH_CONCURRENCY) ?? 16;
  const connC = positiveInt("--conn-concurrency", values["conn-concurrency"] ?? env.BENCH_CONN_CONCURRENCY) ?? 256;
  const timeout = positiveInt("--timeout", values.timeout ?? env.BENCH_TIMEOUT) ?? 60;
  const count = (base: number) => n ?? (values.quick === true ? Math.max(50, Math.round(base / 5)) : base);
  const benches = list("--benches", values.benches, ["inbound", "relay", "events", "backlog"] as const, ["inbound", "relay", "events"]);
  const sizes = list("--sizes", values.sizes, ["small", "large"] as const);
  const modes = list("--modes", values.modes, ["reuse", "per-connection"] as const);
  const scenarios = !benches.includes("inbound") ? [] : sizes.flatMap((size) =>
    modes.map((mode): ScenarioPlan => ({ size, mode, count: count(defaultCounts[`${size}/${mode}`]), concurrency: mode === "reuse" ? reuseC : connC })),
  );
  const outbound = benches.flatMap((b): OutboundPlan[] =>
    b === "inbound" || b === "backlog" ? [] : [{ scenario: b, count: count(defaultOutboundCounts[b]), concurrency: reuseC }],
  );
  // Baseline first in every scenario: the yardsticks are measured before the thing measured against them.
  const systems = list("--systems", values.systems, ["baseline", "floor", "mailhook"] as const, ["baseline", "mailhook"]);
  if (benches.includes("backlog") && !systems.includes("mailhook")) {
    throw new UsageError("--benches backlog measures mailhook alone: --systems must include mailhook");
  }
  if (systems.includes("floor") && outbound.length > 0) {
    throw new UsageError("--systems floor: the durable floor receives and posts mail, it does not relay; use it with --benches inbound");
  }
  return {
    systems,
    scenarios,
    outbound,
    backlog: benches.includes("backlog") ? { count: count(50_000), concurrency: reuseC } : null,
    timeoutMs: timeout * 1000,
    repeat: positiveInt("--repeat", values.repeat ?? env.BENCH_REPEAT) ?? 1,
    mailhookBin: values.mailhook ?? null,
    json: values.json ?? null,
    help: values.help === true,
  };
}
