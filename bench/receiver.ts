// The webhook endpoint both systems post to: HTTPS with the test certificate, answers 200 as soon as the
// body is read, and reports the first receipt time of each message token to the harness in batches
// (one IPC message per 50 ms, so reporting costs the receiver almost nothing).
// Run by the harness with fork(); argv: <certFile> <keyFile>.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { tokenPattern, type Ready, type Receipts } from "./protocol.ts";

const [certFile, keyFile] = process.argv.slice(2);
if (certFile === undefined || keyFile === undefined || process.send === undefined) {
  throw new Error("receiver: run by the bench harness with fork(<certFile> <keyFile>)");
}
const send = process.send.bind(process);
const maxBodyBytes = 64 * 1024 * 1024;

const seen = new Set<string>();
let pending: Receipts["items"] = [];
let duplicates: string[] = [];
let unknown = 0;

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
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    // The token is ASCII: latin1 decoding is the cheapest faithful view of the body for the regex.
    const match = tokenPattern.exec(Buffer.concat(chunks).toString("latin1"));
    if (match === null) {
      unknown++;
      return;
    }
    const token = match[0];
    if (seen.has(token)) {
      duplicates.push(match[1] ?? "");
      return;
    }
    seen.add(token);
    pending.push([match[1] ?? "", Number(match[2]), at]);
  });
  req.on("error", () => res.destroy());
});
// Longer than any client's idle timeout, so pooled connections are closed by the client, not here.
server.keepAliveTimeout = 120_000;

setInterval(() => {
  if (pending.length === 0 && duplicates.length === 0 && unknown === 0) return;
  const batch: Receipts = { type: "receipts", items: pending, duplicates, unknown };
  pending = [];
  duplicates = [];
  unknown = 0;
  send(batch);
}, 50);

// The harness owns this process: when its IPC channel closes (the harness ended, however), stop.
process.on("disconnect", () => process.exit(0));

server.listen(0, "127.0.0.1", () => {
  const ready: Ready = { type: "ready", port: (server.address() as AddressInfo).port };
  send(ready);
});
