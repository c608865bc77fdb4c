// Child process for store-crash.test.ts: accepts mail into the spool at argv[2] as fast as it can,
// with many accepts in flight, and prints each message id on its own line once its accept resolved
// (the moment the relay would answer 250). The parent kills it with SIGKILL mid-stream.
import { Spool } from "../../../relay/queue/store.ts";
import { numberedMessage } from "./messages.ts";

const dir = process.argv[2];
if (dir === undefined) throw new Error("usage: spool-crash-child.ts DIR");
const spool = Spool.open(dir);
const IN_FLIGHT = 32;
let next = 0;

function acceptOne(): void {
  const message = numberedMessage(next++);
  spool.accept(message).then(
    () => {
      process.stdout.write(`${message.id}\n`);
      acceptOne();
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

for (let i = 0; i < IN_FLIGHT; i++) acceptOne();
