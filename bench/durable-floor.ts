// A yardstick, not a competitor: the least a durable relay can do with the parts mailhook and the
// baseline share (smtp-server in, undici out). Each mail is appended to one file; one fdatasync covers
// every mail appended while the previous one ran; `250` follows it; then the raw mail is posted as is.
// No parsing, matching, job records, retries, limits or metrics. mailhook cannot beat it, so its
// throughput over the baseline's bounds what any durable design reaches on this machine, and mailhook's
// distance from it is what mailhook's features cost. Run by the harness with fork(); argv:
// <endpointUrl> <caFile> <folder for the file>.
import { fdatasync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Pool } from "undici";
import { startNaiveServer } from "./plain-smtp.ts";

const [endpoint, caFile, folder] = process.argv.slice(2);
if (endpoint === undefined || caFile === undefined || folder === undefined) {
  throw new Error("durable floor: run by the bench harness with fork(<endpointUrl> <caFile> <folder>)");
}
const url = new URL(endpoint);
// As the baseline's pool, and mailhook's default per origin.
const pool = new Pool(url.origin, { connect: { ca: readFileSync(caFile) }, connections: 32, keepAliveTimeout: 60_000 });
const fd = openSync(join(folder, "mail.log"), "a");

let waiting: (() => void)[] = [];
let syncing = false;

function syncWaiting(): void {
  if (syncing || waiting.length === 0) return;
  syncing = true;
  const batch = waiting;
  waiting = [];
  fdatasync(fd, (err) => {
    syncing = false;
    if (err !== null) throw err;
    for (const done of batch) done();
    syncWaiting();
  });
}

function post(raw: Buffer): void {
  pool
    .request({ path: url.pathname, method: "POST", headers: { "content-type": "message/rfc822" }, body: raw })
    .then((res) => res.body.dump())
    .catch((err: unknown) => process.stderr.write(`durable floor: post failed: ${String(err)}\n`));
}

startNaiveServer("durable floor", (stream, _session, callback) => {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", () => {
    const raw = Buffer.concat(chunks);
    writeSync(fd, raw);
    waiting.push(() => {
      callback();
      post(raw);
    });
    syncWaiting();
  });
});
