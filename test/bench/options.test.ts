import assert from "node:assert/strict";
import { test } from "node:test";
import { parseOptions } from "../../bench/options.ts";

test("by default both systems run all four scenarios once", () => {
  const o = parseOptions([], {});
  assert.deepEqual(o.systems, ["baseline", "mailhook"]);
  assert.deepEqual(o.scenarios.map((s) => `${s.size}/${s.mode}/${s.concurrency}`), [
    "small/reuse/16", "small/per-connection/256", "large/reuse/16", "large/per-connection/256",
  ]);
  assert.equal(o.repeat, 1);
  assert.equal(o.json, null);
});

test("the durable floor runs only when asked for, and only in the inbound scenarios", () => {
  assert.deepEqual(parseOptions(["--systems", "mailhook,floor,baseline", "--benches", "inbound"], {}).systems, ["baseline", "floor", "mailhook"]);
  assert.throws(() => parseOptions(["--systems", "floor"], {}), /durable floor .*--benches inbound/);
});

test("the backlog scenario runs only when asked for, and needs mailhook", () => {
  assert.equal(parseOptions([], {}).backlog, null);
  assert.deepEqual(parseOptions(["--benches", "backlog"], {}).backlog, { count: 50_000, concurrency: 16 });
  assert.deepEqual(parseOptions(["--benches", "backlog", "--quick"], {}).backlog, { count: 10_000, concurrency: 16 });
  assert.throws(() => parseOptions(["--benches", "backlog", "--systems", "baseline"], {}), /backlog measures mailhook alone/);
});

test("--quick shortens every scenario and --n overrides the counts", () => {
  const quick = parseOptions(["--quick"], {});
  const full = parseOptions([], {});
  quick.scenarios.forEach((s, i) => assert.ok(s.count < (full.scenarios[i]?.count ?? 0)));
  assert.ok(parseOptions(["--quick", "--n", "7"], {}).scenarios.every((s) => s.count === 7));
});

test("environment variables set counts and concurrency, flags win over them", () => {
  const o = parseOptions(["--concurrency", "4"], { BENCH_N: "9", BENCH_CONCURRENCY: "2", BENCH_CONN_CONCURRENCY: "32" });
  assert.ok(o.scenarios.every((s) => s.count === 9));
  assert.equal(o.scenarios.find((s) => s.mode === "reuse")?.concurrency, 4);
  assert.equal(o.scenarios.find((s) => s.mode === "per-connection")?.concurrency, 32);
});

test("filters keep the canonical order and bad values are usage errors", () => {
  const o = parseOptions(["--systems", "mailhook", "--sizes", "large", "--modes", "per-connection,reuse"], {});
  assert.deepEqual(o.systems, ["mailhook"]);
  assert.deepEqual(o.scenarios.map((s) => s.mode), ["reuse", "per-connection"]);
  for (const argv of [["--n", "0"], ["--sizes", "huge"], ["--bogus"], ["--timeout", "1.5"]]) {
    assert.throws(() => parseOptions(argv, {}), (err: Error & { code?: string }) => err.code === "BENCH_USAGE");
  }
});

test("the outbound scenarios run by default, take --n and --concurrency, and --benches selects", () => {
  assert.deepEqual(parseOptions([], {}).outbound.map((p) => `${p.scenario}/${p.count}/${p.concurrency}`), ["relay/4000/16", "events/4000/16"]);
  assert.deepEqual(parseOptions(["--n", "9", "--concurrency", "3"], {}).outbound.map((p) => `${p.count}/${p.concurrency}`), ["9/3", "9/3"]);
  const onlyEvents = parseOptions(["--benches", "events"], {});
  assert.deepEqual(onlyEvents.scenarios, []);
  assert.deepEqual(onlyEvents.outbound.map((p) => p.scenario), ["events"]);
  assert.throws(() => parseOptions(["--benches", "smtp"], {}), (err: Error & { code?: string }) => err.code === "BENCH_USAGE");
});
