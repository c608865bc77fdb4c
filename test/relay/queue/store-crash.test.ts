import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { Spool } from "../../../relay/queue/store.ts";
import { numberedMessage } from "./messages.ts";

const CHILD = join(import.meta.dirname, "spool-crash-child.ts");
const KILL_AFTER = 400;

/** Runs the child until it has acknowledged KILL_AFTER mails, kills it, and returns its lines. */
async function runAndKill(t: TestContext, dir: string, mode: string[]): Promise<string[]> {
  const child = spawn(process.execPath, [CHILD, dir, ...mode], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  const exited = once(child, "exit");
  let output = "";
  let acknowledged = 0;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    output += chunk;
    acknowledged += chunk.split("\n").filter((line) => line.startsWith("A ")).length;
    if (acknowledged > KILL_AFTER) child.kill("SIGKILL");
  });
  const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, "SIGKILL", `the child should have been killed, it exited with ${code}`);
  // Only complete lines: a partial last line was not yet acknowledged.
  return output.split("\n").slice(0, -1);
}

function tempSpoolDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-spool-crash-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("every mail whose accept resolved survives kill -9 of the process, with its jobs and intact body", async (t) => {
  const dir = tempSpoolDir(t);
  const lines = await runAndKill(t, dir, []);
  const acknowledged = lines.filter((l) => l.startsWith("A ")).map((l) => l.slice(2));
  assert.ok(acknowledged.length >= KILL_AFTER, `only ${acknowledged.length} accepts before the kill`);

  const spool = Spool.open(dir, { log: (_level, msg) => assert.fail(`no quarantine expected: ${msg}`) });
  t.after(() => spool.close());
  const jobsByMessage = new Map<string, string[]>();
  for (const job of spool.claimDue(Number.MAX_SAFE_INTEGER, 1_000_000)) {
    jobsByMessage.set(job.messageId, [...(jobsByMessage.get(job.messageId) ?? []), job.id]);
  }
  for (const id of acknowledged) {
    const expected = numberedMessage(Number(id.slice(1)));
    assert.deepEqual(jobsByMessage.get(id)?.sort(), expected.jobs.map((j) => j.id).sort(), `jobs of ${id}`);
    const read = spool.readMessage(id);
    assert.ok(read.kind === "ok" && read.raw.equals(expected.raw), `body of ${id}`);
  }
  // Whatever else was committed before the kill (accepted but not yet printed) is whole too.
  assert.equal(spool.counts().quarantinedJobs, 0);
  assert.equal(spool.counts().pendingJobs, 2 * spool.counts().messages);
});

test("kill -9 while mail is delivered and body segments roll over and go: every undelivered mail is intact", async (t) => {
  const dir = tempSpoolDir(t);
  const lines = await runAndKill(t, dir, ["deliver"]);
  const acknowledged = lines.filter((l) => l.startsWith("A ")).map((l) => l.slice(2));
  const delivering = new Set(lines.filter((l) => l.startsWith("D ")).map((l) => l.slice(2)));
  assert.ok(delivering.size > 100, `only ${delivering.size} deliveries before the kill`);
  const segmentNumbers = () => readdirSync(join(dir, "bodies")).map((f) => Number.parseInt(f, 10));
  const before = segmentNumbers();
  assert.ok(before.length < Math.max(...before) / 2, `segments were deleted while it ran: ${before.length} left of ${Math.max(...before)}`);

  const spool = Spool.open(dir, { log: (_level, msg) => assert.fail(`no quarantine expected: ${msg}`) });
  t.after(() => spool.close());
  const pending = new Set(spool.claimDue(Number.MAX_SAFE_INTEGER, 1_000_000).map((job) => job.messageId));
  for (const id of acknowledged) {
    if (!delivering.has(id)) assert.ok(pending.has(id), `${id} was acknowledged and never delivered: it must be queued`);
    if (!pending.has(id)) continue;
    const read = spool.readMessage(id);
    assert.ok(read.kind === "ok" && read.raw.equals(numberedMessage(Number(id.slice(1))).raw), `body of ${id}`);
  }
  assert.equal(spool.counts().quarantinedJobs, 0);
});
