// The load: nodemailer's SMTP connection (no transport layers on top, to keep the client's own CPU low)
// sending `count` messages over `concurrency` connections, either reusing each connection for many
// messages or opening a new one per message. Reports per-message start and `250` times, then exits.
// Run by the harness with fork(); argv: one LoadJob as JSON.
import { performance } from "node:perf_hooks";
import SMTPConnection from "nodemailer/lib/smtp-connection";
import { buildTemplate, sender, type MessageTemplate } from "./messages.ts";
import { tokenFor, type LoadJob, type LoadResult } from "./protocol.ts";

const job = JSON.parse(process.argv[2] ?? "null") as LoadJob | null;
if (job === null || process.send === undefined) throw new Error("load client: run by the bench harness with fork(<LoadJob JSON>)");
const send = process.send.bind(process);
const now = () => performance.timeOrigin + performance.now();

const starts: (number | null)[] = new Array<number | null>(job.count).fill(null);
const acks: (number | null)[] = new Array<number | null>(job.count).fill(null);
let failures = 0;
let firstFailure: string | null = null;
let next = 0;

function fail(err: unknown): void {
  failures++;
  firstFailure ??= err instanceof Error ? err.message : String(err);
}

/** One SMTP connection as promises; the connection's `error` event rejects whatever is in flight. */
class Connection {
  #conn: SMTPConnection;
  #failed: Error | null = null;
  #onError: ((err: Error) => void) | null = null;

  constructor(j: LoadJob) {
    this.#conn = new SMTPConnection({
      host: "127.0.0.1",
      port: j.port,
      name: "client.example",
      ignoreTLS: true,
      connectionTimeout: j.messageTimeoutMs,
      greetingTimeout: j.messageTimeoutMs,
      socketTimeout: j.messageTimeoutMs,
    });
    this.#conn.on("error", (err: Error) => {
      this.#failed = err;
      this.#onError?.(err);
    });
  }

  #settle<T>(start: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#failed !== null) return reject(this.#failed);
      this.#onError = reject;
      start(resolve, reject);
    });
  }

  connect(): Promise<void> {
    return this.#settle((resolve, reject) => this.#conn.connect((err) => (err ? reject(err) : resolve())));
  }

  send(recipient: string, message: string): Promise<void> {
    // A fresh envelope each time: SMTPConnection keeps its per-message state on the object it is given.
    return this.#settle((resolve, reject) =>
      this.#conn.send({ from: sender, to: recipient }, message, (err) => (err ? reject(err) : resolve())),
    );
  }

  get usable(): boolean {
    return this.#failed === null;
  }

  close(): void {
    if (this.#failed === null) this.#conn.quit();
    else this.#conn.close();
  }
}

async function sendOne(j: LoadJob, template: MessageTemplate, conn: Connection, seq: number): Promise<void> {
  await conn.send(j.recipient, template.stamp(tokenFor(j.run, seq)));
  acks[seq] = now();
}

async function reuseWorker(j: LoadJob, template: MessageTemplate): Promise<void> {
  let conn: Connection | null = null;
  while (next < j.count && now() < j.deadline) {
    const seq = next++;
    try {
      if (conn === null || !conn.usable) {
        conn?.close();
        conn = new Connection(j);
        await conn.connect();
      }
      starts[seq] = now();
      await sendOne(j, template, conn, seq);
    } catch (err) {
      starts[seq] ??= now();
      fail(err);
    }
  }
  conn?.close();
}

async function perConnectionWorker(j: LoadJob, template: MessageTemplate): Promise<void> {
  while (next < j.count && now() < j.deadline) {
    const seq = next++;
    starts[seq] = now();
    const conn = new Connection(j);
    try {
      await conn.connect();
      await sendOne(j, template, conn, seq);
    } catch (err) {
      fail(err);
    } finally {
      conn.close();
    }
  }
}

const template = await buildTemplate(job.size, job.recipient);
const worker = job.mode === "reuse" ? reuseWorker : perConnectionWorker;
const cpuBefore = process.cpuUsage();
await Promise.all(Array.from({ length: Math.min(job.concurrency, job.count) }, () => worker(job, template)));
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const result: LoadResult = { type: "load-result", run: job.run, starts, acks, failures, firstFailure, cpuSeconds };
send(result, () => process.exit(0));
