import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startHttpsReceiver } from "../../helpers/https-receiver.ts";
import { startSmtpSink } from "../../helpers/smtp-sink.ts";
import { decodeEventRequest, settle } from "../events/event-harness.ts";

const CHILD = join(import.meta.dirname, "outbound-crash-child.ts");
const KILL_AFTER = 150;

test("after kill -9 under load and a restart, every accepted mail is delivered and every event posted at least once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "mailhook-outbound-crash-"));
  const sink = await startSmtpSink();
  const receiver = await startHttpsReceiver();
  t.after(async () => {
    await sink.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (mode: "load" | "drain") => {
    const child = spawn(process.execPath, [CHILD, dir, String(sink.port), receiver.origin, mode], { stdio: ["ignore", "pipe", "inherit"] });
    t.after(() => child.kill("SIGKILL"));
    return child;
  };

  const loader = run("load");
  const exited = once(loader, "exit");
  let output = "";
  loader.stdout.setEncoding("utf8");
  loader.stdout.on("data", (chunk: string) => {
    output += chunk;
    if (output.split("\n").length > KILL_AFTER) loader.kill("SIGKILL");
  });
  const [, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, "SIGKILL");
  // Only complete lines: a partial last line was not yet acknowledged.
  const acknowledged = output.split("\n").slice(0, -1).map(Number);
  assert.ok(acknowledged.length >= KILL_AFTER);
  const recipients = acknowledged.flatMap((n) => [`a${n}@example.test`, `b${n}@example.test`]);

  const drainer = run("drain");
  const delivered = () => new Set(sink.messages.flatMap((m) => m.to));
  const posted = () => {
    const seen = new Set<string>();
    for (const r of receiver.requests) for (const item of decodeEventRequest(r.body, r.headers["content-type"]).items) seen.add(`${String(item.status)} ${String(item.to)}`);
    return seen;
  };
  const missing = () => {
    const mails = delivered();
    const events = posted();
    return recipients.filter((r) => !mails.has(r) || !events.has(`queued ${r}`) || !events.has(`succeeded ${r}`));
  };
  for (let i = 0; i < 300 && missing().length > 0; i++) await settle(100);
  drainer.kill("SIGKILL");
  assert.deepEqual(missing(), [], "recipients whose mail or queued/succeeded events are missing");
});
