// The relay as a user runs it: `mailhook relay --config … --manifests …` in a child process, killed
// with SIGKILL and restarted on the same spool, its manifests edited while it runs.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import nodemailer from "nodemailer";
import { startHttpsReceiver, type HttpsReceiver } from "../helpers/https-receiver.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";
import { formFields } from "../helpers/relay-harness.ts";
import { testCaFile } from "../helpers/tls-fixtures.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const dirs: string[] = [];
const children = new Set<ChildProcess>();
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface RunningRelay {
  child: ChildProcess;
  smtpPort: number;
  /** 0 unless relay.yaml configures submission. */
  submissionPort: number;
  metricsPort: number;
  /** Every log line so far. */
  log: string[];
  exited: Promise<number | null>;
}

/** Starts the relay CLI and waits until it is ready (listening, configuration applied). */
async function runRelay(dir: string): Promise<RunningRelay> {
  const child = spawn(process.execPath, [join(root, "bin/mailhook.ts"), "relay", "--config", join(dir, "relay.yaml"), "--manifests", join(dir, "manifests")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => {
    children.delete(child);
    resolve(code);
  }));
  const log: string[] = [];
  let smtpPort = 0;
  let metricsPort = 0;
  let submissionPort = 0;
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr });
    lines.on("line", (line) => {
      log.push(line);
      const entry = JSON.parse(line) as { msg: string; smtp?: string; metrics?: number; component?: string; port?: number };
      if (entry.msg === "listening" && entry.component === "submission") submissionPort = entry.port ?? 0;
      if (entry.msg === "relay started") {
        smtpPort = Number(entry.smtp?.split(":").pop());
        metricsPort = entry.metrics ?? 0;
      }
      if (entry.msg === "webhook configuration applied") resolve();
    });
    void exited.then((code) => reject(new Error(`relay exited with ${code}: ${log.join("\n")}`)));
  });
  return { child, smtpPort, submissionPort, metricsPort, log, exited };
}

async function workspace(receiver: HttpsReceiver, extraManifests = "", extraSettings = ""): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mailhook-proc-"));
  dirs.push(dir);
  await writeFile(
    join(dir, "relay.yaml"),
    `inbound: { listen: "127.0.0.1:0", domains: [example.com] }
spool: { dir: ${JSON.stringify(join(dir, "spool"))} }
metrics: { listen: "127.0.0.1:0" }
endpoints: { caFile: ${JSON.stringify(testCaFile)}, allowNetworks: [127.0.0.0/8] }
${extraSettings}`,
  );
  await mkdir(join(dir, "manifests"));
  await writeFile(join(dir, "manifests", "hooks.yaml"), webhookManifest("main", `${receiver.origin}/main`) + extraManifests);
  return dir;
}

function webhookManifest(name: string, endpoint: string, extra = ""): string {
  return `---
apiVersion: mailhook.dev/v1alpha1
kind: InboundWebhook
metadata: { name: ${name}, namespace: default }
spec:
  endpoint: ${endpoint}
  conditions: [{ header: To, pattern: '^${name}@example\\.com$' }]
  retry: { intervalSeconds: 10${extra} }
`;
}

function sendTo(port: number, to: string, subject: string): Promise<unknown> {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
  return transport.sendMail({ from: "a@sender.test", to, subject, text: subject }).finally(() => transport.close());
}

async function subjectOf(body: Buffer, contentType: string): Promise<string> {
  return (await formFields(body, contentType)).get("subject") as string;
}

test("kill -9 between 250 and delivery loses nothing: every accepted mail arrives after restart with the same webhook-id", async () => {
  const receiver = await startHttpsReceiver();
  after(() => receiver.close());
  // The endpoint holds every request open: the relay has accepted the mails but not delivered them.
  receiver.respondWith(() => undefined);
  const dir = await workspace(receiver);
  const first = await runRelay(dir);

  const subjects = Array.from({ length: 20 }, (_, i) => `mail ${i}`);
  await Promise.all(subjects.map((s) => sendTo(first.smtpPort, "main@example.com", s)));
  const held = await receiver.waitForRequests(subjects.length);
  const heldIds = new Map<string, string>();
  for (const r of held) heldIds.set(await subjectOf(r.body, String(r.headers["content-type"])), String(r.headers["webhook-id"]));

  first.child.kill("SIGKILL");
  assert.equal(await first.exited, null);
  receiver.respondWith((_req, res) => res.writeHead(200).end());
  const before = receiver.requests.length;

  await runRelay(dir);
  const delivered = new Map<string, string>();
  while (delivered.size < subjects.length) {
    const requests = await receiver.waitForRequests(receiver.requests.length + 1);
    for (const r of requests.slice(before)) delivered.set(await subjectOf(r.body, String(r.headers["content-type"])), String(r.headers["webhook-id"]));
  }
  assert.deepEqual([...delivered.keys()].sort(), [...subjects].sort());
  for (const [subject, id] of heldIds) assert.equal(delivered.get(subject), id, `${subject} keeps its webhook-id`);
});

test("kill -9 under outbound load: every accepted mail is delivered and every event posted after restart", async () => {
  // A slow destination: most mails are still queued or in flight when the relay is killed.
  const sink = await startSmtpSink({ rules: { data: () => sleep(150).then(() => undefined) } });
  const receiver = await startHttpsReceiver();
  after(() => Promise.all([sink.close(), receiver.close()]));
  const dir = await workspace(
    receiver,
    `---
apiVersion: mailhook.dev/v1alpha1
kind: EventWebhook
metadata: { name: events, namespace: default }
spec:
  endpoint: ${receiver.origin}/events
  events: { deliveries: true }
  version: "2"
  contentType: json
  timeZone: Europe/Berlin
`,
    `submission: { listen: "127.0.0.1:0", allowedNetworks: [127.0.0.0/8] }
outbound: { routes: { dest.test: "127.0.0.1:${sink.port}" } }
`,
  );
  const first = await runRelay(dir);
  const subjects = Array.from({ length: 40 }, (_, i) => `load ${i}`);
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port: first.submissionPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 8 });
  await Promise.all(subjects.map((subject) => transport.sendMail({ from: "app@sender.test", to: "rcpt@dest.test", subject, text: subject })));
  transport.close();
  first.child.kill("SIGKILL");
  await first.exited;
  assert.ok(sink.messages.length < subjects.length, "the kill came before every mail was delivered");

  await runRelay(dir);
  const deadline = Date.now() + 30_000;
  const seen = new Map<string, Set<string>>();
  while ([...subjects].some((s) => !seen.get(s)?.has("queued") || !seen.get(s)?.has("succeeded"))) {
    if (Date.now() > deadline) throw new Error(`events missing: ${JSON.stringify([...seen].map(([k, v]) => [k, [...v]]))}`);
    await sleep(100);
    seen.clear();
    for (const r of receiver.requests) {
      const body = JSON.parse(r.body.toString("utf8")) as { event: { deliveries?: { subject: string; status: string }[] } };
      for (const item of body.event.deliveries ?? []) {
        if (!seen.has(item.subject)) seen.set(item.subject, new Set());
        seen.get(item.subject)!.add(item.status);
      }
    }
  }
  const delivered = new Set(sink.messages.map((m) => /^Subject: (.*)$/m.exec(m.raw.toString("latin1"))?.[1]?.trim()));
  for (const subject of subjects) assert.ok(delivered.has(subject), `${subject} delivered`);
});

test("an invalid manifest is reported precisely and the valid webhooks keep working; edits reload live", async () => {
  const receiver = await startHttpsReceiver();
  after(() => receiver.close());
  const dir = await workspace(receiver, webhookManifest("bad", `${receiver.origin}/bad`).replace("intervalSeconds: 10", "intervalSeconds: 5"));
  const relay = await runRelay(dir);

  const problem = relay.log.map((l) => JSON.parse(l) as { msg: string; problem?: string }).find((e) => e.msg === "manifest problem");
  assert.match(String(problem?.problem), /hooks\.yaml:\d+: InboundWebhook default\/bad: spec\.retry\.intervalSeconds: /);

  await sendTo(relay.smtpPort, "main@example.com", "valid one");
  await assert.rejects(sendTo(relay.smtpPort, "bad@example.com", "invalid one"), /550/);
  const [req] = await receiver.waitForRequests(1);
  assert.equal(req?.url, "/main");

  // Fix the bad webhook and move the good one: both apply without a restart.
  await writeFile(join(dir, "manifests", "hooks.yaml"), webhookManifest("main", `${receiver.origin}/moved`) + webhookManifest("bad", `${receiver.origin}/bad`));
  await waitForLog(relay, (l) => l.includes('"inbound":2'));
  await sendTo(relay.smtpPort, "main@example.com", "after edit");
  await sendTo(relay.smtpPort, "bad@example.com", "now valid");
  const requests = await receiver.waitForRequests(3);
  assert.deepEqual(requests.slice(1).map((r) => r.url).sort(), ["/bad", "/moved"]);

  relay.child.kill("SIGTERM");
  assert.equal(await relay.exited, 0);
});

test("mailhook validate exits non-zero with one precise line per problem", async () => {
  const receiver = await startHttpsReceiver();
  after(() => receiver.close());
  const dir = await workspace(receiver, webhookManifest("bad", "http://insecure.example/hook"));
  const child = spawn(process.execPath, [join(root, "bin/mailhook.ts"), "validate", join(dir, "manifests")], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 1);
  assert.match(stderr, /hooks\.yaml:\d+: InboundWebhook default\/bad: spec\.endpoint: /);
});

async function waitForLog(relay: RunningRelay, match: (line: string) => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!relay.log.some(match)) {
    if (Date.now() > deadline) throw new Error(`log line not seen:\n${relay.log.join("\n")}`);
    await sleep(25);
  }
}
