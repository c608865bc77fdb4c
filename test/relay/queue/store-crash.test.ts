import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Spool } from "../../../relay/queue/store.ts";
import { numberedMessage } from "./messages.ts";

const CHILD = join(import.meta.dirname, "spool-crash-child.ts");
const KILL_AFTER = 400;

test("every mail whose accept resolved survives kill -9 of the process, with its jobs and intact body", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-spool-crash-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const child = spawn(process.execPath, [CHILD, dir], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  const exited = once(child, "exit");
  let output = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    output += chunk;
    if (output.split("\n").length > KILL_AFTER) child.kill("SIGKILL");
  });
  const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, "SIGKILL", `the child should have been killed, it exited with ${code}`);

  // Only complete lines: a partial last line was not yet acknowledged.
  const acknowledged = output.split("\n").slice(0, -1);
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
