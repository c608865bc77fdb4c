// The webhook endpoint every system posts to: HTTPS with the test certificate, answers 200 as soon as the
// body is read, and reports first receipt times to the harness (receipt-reporter.ts).
// - `/events`: EventWebhook batches (JSON body, as mailhook's `contentType: json` and the outbound baseline
//   send them): every item counts, under `eventRun(run, status)`, its token taken from its `subject`; the
//   batch counts as a post of its first item's.
// - `/outage`: an endpoint that is down (the backlog scenario, backlog.ts): 503 to everything, nothing
//   counted, while down (the harness sends `{ type: "outage", down }`); when up, like any other path.
// - any other path: one mail per post (inbound); its token is found with one regex over the body.
// Run by the harness with fork(); argv: <certFile> <keyFile>.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { performance } from "node:perf_hooks";
import { eventRun, isMessage, tokenPattern, type Outage } from "./protocol.ts";
import { harnessChannel, listenAndAnnounce, ReceiptReporter } from "./receipt-reporter.ts";

const [certFile, keyFile] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined) throw new Error("receiver: run by the bench harness with fork(<certFile> <keyFile>)");
const send = harnessChannel("receiver");
const reporter = new ReceiptReporter(send);
const maxBodyBytes = 64 * 1024 * 1024;

function mailPost(body: Buffer, at: number): void {
  // The token is ASCII: latin1 decoding is the cheapest faithful view of the body for the regex.
  reporter.mail(body.toString("latin1"), at);
}

interface EventBody {
  event_type?: unknown;
  event?: Record<string, unknown>;
}

function eventPost(body: Buffer, at: number): void {
  let parsed: EventBody;
  try {
    parsed = JSON.parse(body.toString("utf8")) as EventBody;
  } catch {
    return reporter.unknown();
  }
  const items = typeof parsed.event_type === "string" ? parsed.event?.[parsed.event_type] : undefined;
  let first: string | null = null;
  for (const item of Array.isArray(items) ? (items as { subject?: unknown; status?: unknown }[]) : []) {
    const match = tokenPattern.exec(String(item.subject));
    if (match === null) continue;
    const run = eventRun(match[1] ?? "", String(item.status));
    first ??= run;
    reporter.receipt(run, Number(match[2]), at);
  }
  if (first === null) reporter.unknown();
  else reporter.post(first);
}

const endpointDelayMs = Number(process.env.BENCH_ENDPOINT_DELAY_MS ?? 0);
let outage = true;
process.on("message", (m: unknown) => {
  if (isMessage<Outage>(m, "outage")) outage = m.down;
});

const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  const chunks: Buffer[] = [];
  let bytes = 0;
  req.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes <= maxBodyBytes) chunks.push(chunk);
  });
  req.on("end", () => {
    const at = performance.timeOrigin + performance.now();
    if (bytes > maxBodyBytes) {
      res.writeHead(413).end();
      return;
    }
    if (outage && req.url === "/outage") {
      res.writeHead(503).end();
      reporter.refusedMail(Buffer.concat(chunks).toString("latin1"));
      return;
    }
    // An endpoint across a network answers later than one on loopback: BENCH_ENDPOINT_DELAY_MS
    // models that (the receipt time is still the arrival).
    const answer = () => res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    if (endpointDelayMs > 0) setTimeout(answer, endpointDelayMs);
    else answer();
    (req.url === "/events" ? eventPost : mailPost)(Buffer.concat(chunks), at);
  });
  req.on("error", () => res.destroy());
});
// Longer than any client's idle timeout, so pooled connections are closed by the client, not here.
server.keepAliveTimeout = 120_000;

listenAndAnnounce(server, send);
