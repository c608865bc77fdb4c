// The posting thread (see posting-thread.ts): one webhook HTTP client and the parse-render-post
// pipeline, answering each request with its outcome. Ends when asked, after the posts in flight.
import { parentPort, workerData } from "node:worker_threads";
import { WebhookHttpClient, type WebhookHttpClientOptions } from "./http-client.ts";
import { InboundPostPipeline } from "./inbound-post.ts";
import type { PostOrder, PostOutcome, ToPostingThread } from "./posting-thread.ts";

if (parentPort === null) throw new Error("posting-thread-entry.ts runs as a worker thread (see posting-thread.ts)");
const port = parentPort;
const client = new WebhookHttpClient(workerData as WebhookHttpClientOptions);
const pipeline = new InboundPostPipeline(client);
/**
 * Outcomes of this turn of the event loop, sent together at its end (see FromPostingThread). A crash of
 * the thread within that turn fails these posts too, and they are posted again with the same
 * `webhook-id`: the at-least-once delivery a crash between a 2xx and its commit gives anyway.
 */
let outbox: PostOutcome[] = [];
const reply = (outcome: PostOutcome) => {
  if (outbox.push(outcome) === 1) setImmediate(flush);
};
function flush(): void {
  if (outbox.length === 0) return;
  port.postMessage(outbox);
  outbox = [];
}

const inFlight = new Set<Promise<void>>();

port.on("message", (message: ToPostingThread) => {
  if (message.type === "close") {
    void Promise.allSettled(inFlight)
      .then(() => client.close())
      .finally(() => {
        flush();
        port.close();
      });
    return;
  }
  for (const post of message.posts) start(post);
});

function start({ id, request }: PostOrder): void {
  const done = pipeline.post(request).then(
    (result) => reply({ id, result }),
    (err: unknown) => reply({ id, error: describeError(err) }),
  );
  inFlight.add(done);
  void done.finally(() => inFlight.delete(done));
}

/** What crosses back of an error: its message and code (no stack, nothing else it may hold). */
function describeError(err: unknown): { message: string; code?: string } {
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? { message: err.message, code } : { message: err.message };
}
