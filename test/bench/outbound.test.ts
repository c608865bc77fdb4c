// Runs the real outbound bench, tiny: both systems relay to the sink, and in the events scenario every
// queued and succeeded event reaches the receiver, in batches from mailhook and one by one from the
// baseline. Timings are never asserted; only that everything arrived and the report says so.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import type { OutboundResult } from "../../bench/outbound-stats.ts";

const dir = await mkdtemp(join(tmpdir(), "mailhook-bench-test-"));
after(() => rm(dir, { recursive: true, force: true }));

test("the outbound bench relays every mail to the sink and delivers every event, batched by mailhook", async () => {
  const json = join(dir, "result.json");
  const { stdout } = await promisify(execFile)(process.execPath, [
    new URL("../../bench/inbound.ts", import.meta.url).pathname,
    "--benches", "relay,events", "--n", "20", "--concurrency", "4", "--timeout", "30", "--json", json,
  ]);
  assert.match(stdout, /outbound \(submission → relay → sink SMTP server\)/);
  assert.match(stdout, /events\/s mailhook\/baseline/);
  const report = JSON.parse(await readFile(json, "utf8")) as { results: unknown[]; outbound: { results: OutboundResult[] } };
  assert.deepEqual(report.results, []);
  const rows = report.outbound.results;
  assert.deepEqual(rows.map((r) => `${r.scenario}/${r.mail.system}`), ["relay/baseline", "relay/mailhook", "events/baseline", "events/mailhook"]);
  for (const r of rows) {
    assert.equal(r.mail.error, undefined);
    assert.equal(r.mail.received, 20, `${r.scenario}/${r.mail.system}`);
  }
  const events = (system: string) => rows.find((r) => r.scenario === "events" && r.mail.system === system)?.events;
  assert.equal(rows.find((r) => r.scenario === "relay")?.events, null);
  assert.equal(events("baseline")?.received, 40);
  assert.equal(events("baseline")?.requestsPerEvent, 1);
  assert.equal(events("mailhook")?.received, 40);
  assert.ok((events("mailhook")?.batches ?? Infinity) < 40);
});
