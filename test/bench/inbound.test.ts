// Runs the real bench, tiny: the baseline and the durable floor end to end, and a mailhook CLI that
// cannot start. Timings are never asserted; only that every message arrived and failures are reported,
// not thrown.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";

const dir = await mkdtemp(join(tmpdir(), "mailhook-bench-test-"));
after(() => rm(dir, { recursive: true, force: true }));

test("the bench measures the baseline and the durable floor end to end and reports a mailhook that cannot start", async () => {
  const broken = join(dir, "broken-mailhook.ts");
  await writeFile(broken, 'process.stderr.write("relay: cannot start\\n");\nprocess.exit(3);\n');
  const json = join(dir, "result.json");
  const { stdout } = await promisify(execFile)(process.execPath, [
    new URL("../../bench/inbound.ts", import.meta.url).pathname,
    "--benches", "inbound", "--sizes", "small", "--modes", "reuse", "--n", "20", "--concurrency", "4", "--timeout", "20",
    "--systems", "baseline,floor,mailhook",
    "--mailhook", broken, "--json", json,
  ]);
  assert.match(stdout, /target .*NOT MEASURED/);
  const report = JSON.parse(await readFile(json, "utf8")) as {
    results: { system: string; received: number; count: number; throughput: number | null; error?: string }[];
  };
  const baseline = report.results.find((r) => r.system === "baseline");
  const mailhook = report.results.find((r) => r.system === "mailhook");
  assert.equal(baseline?.received, 20);
  assert.ok((baseline?.throughput ?? 0) > 0);
  const floor = report.results.find((r) => r.system === "floor");
  assert.equal(floor?.received, 20);
  assert.match(mailhook?.error ?? "", /cannot start/);
});
