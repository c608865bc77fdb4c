// Child process for store-crash.test.ts: accepts mail into the spool at argv[2] as fast as it can,
// with many accepts in flight, and prints `A <id>` once its accept resolved (the moment the relay
// would answer 250). With argv[3] = "deliver" it also delivers all but every 50th mail as soon as it is
// accepted (printing `D <id>` before the first of its jobs is marked delivered) and uses small body
// segments, so that segments roll over and are deleted while the parent kills it with SIGKILL.
import { Spool } from "../../../relay/queue/store.ts";
import { numberedMessage } from "./messages.ts";

const [dir, mode] = process.argv.slice(2);
if (dir === undefined) throw new Error("usage: spool-crash-child.ts DIR [deliver]");
const deliver = mode === "deliver";
const spool = Spool.open(dir, deliver ? { segmentBytes: 256 * 1024 } : {});
const IN_FLIGHT = 32;
let next = 0;

const fail = (error: unknown) => {
  console.error(error);
  process.exit(1);
};

function acceptOne(): void {
  const n = next++;
  const message = numberedMessage(n);
  spool.accept(message).then(() => {
    process.stdout.write(`A ${message.id}\n`);
    if (deliver && n % 50 !== 0) {
      process.stdout.write(`D ${message.id}\n`);
      for (const job of message.jobs) {
        spool.claim(job.id, job.webhookKey, message.receivedAt);
        spool.delivered(job.id).catch(fail);
      }
    }
    acceptOne();
  }, fail);
}

for (let i = 0; i < IN_FLIGHT; i++) acceptOne();
