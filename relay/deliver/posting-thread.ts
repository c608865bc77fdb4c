// Inbound posts run on a worker thread of their own: parsing the mail, rendering the body, TLS and
// HTTP cost about as much CPU as receiving and spooling it, and on the SMTP event loop they would cap
// the relay at one core. The delivery loop stays here (it owns the spool); the thread only turns a
// request into an outcome (inbound-post.ts). See posting-thread-entry.ts for the other side.
//
// If the thread dies, the posts it had are failed (the delivery loop puts their jobs back after a
// pause, the same `webhook-id` kept) and the next post starts a new thread.
import { Worker } from "node:worker_threads";
import type { WebhookHttpClientOptions } from "./http-client.ts";
import type { InboundPoster, InboundPostRequest, InboundPostResult } from "./inbound-post.ts";

/**
 * Messages between the two sides. Posts and outcomes cross in batches: each message wakes the other
 * thread, and after a group commit a whole group of mails is handed over in the same turn.
 */
export type PostOrder = { id: number; request: InboundPostRequest };
export type PostOutcome = { id: number; result: InboundPostResult } | { id: number; error: { message: string; code?: string } };
export type ToPostingThread = { type: "posts"; posts: PostOrder[] } | { type: "close" };
export type FromPostingThread = PostOutcome[];

/** A post not yet answered; `worker` is the thread it was handed to (none while still in the outbox). */
type Pending = { resolve: (result: InboundPostResult) => void; reject: (error: Error) => void; worker?: Worker };

export class PostingThreadError extends Error {
  readonly code = "POSTING_THREAD_FAILED";
}

export class PostingThread implements InboundPoster {
  readonly #options: WebhookHttpClientOptions;
  readonly #pending = new Map<number, Pending>();
  /**
   * The bytes of each mail with posts in flight, in shared memory: posted that way, every job of a
   * mail (fan-out) reaches the thread without a copy of its own.
   */
  readonly #shared = new Map<string, { raw: Uint8Array; users: number }>();
  #worker: Worker | undefined;
  /** Posts of this turn of the event loop, sent together at its end. */
  #outbox: PostOrder[] = [];
  #nextId = 1;
  #closed = false;

  /** `options` must already have been checked (the relay builds its own client from them first). */
  constructor(options: WebhookHttpClientOptions) {
    this.#options = options;
  }

  post(request: InboundPostRequest): Promise<InboundPostResult> {
    if (this.#closed) return Promise.reject(new PostingThreadError("the posting thread is closed"));
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<InboundPostResult>();
    this.#pending.set(id, { resolve, reject });
    const raw = this.#share(request.messageId, request.raw);
    if (this.#outbox.push({ id, request: { ...request, raw } }) === 1) setImmediate(() => this.#send());
    return promise.finally(() => this.#unshare(request.messageId));
  }

  /** Lets the posts in flight finish (each bounded by its timeout), then ends the thread. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#send();
    const worker = this.#worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage({ type: "close" } satisfies ToPostingThread);
    await exited;
  }

  #send(): void {
    if (this.#outbox.length === 0) return;
    const posts = this.#outbox;
    this.#outbox = [];
    try {
      const worker = this.#thread();
      worker.postMessage({ type: "posts", posts } satisfies ToPostingThread);
      for (const { id } of posts) {
        const pending = this.#pending.get(id);
        if (pending !== undefined) pending.worker = worker;
      }
    } catch (err) {
      // Called from setImmediate, where a throw would end the relay: these posts fail (and are retried).
      const failure = new PostingThreadError(`cannot hand posts to the posting thread: ${err instanceof Error ? err.message : String(err)}`);
      for (const { id } of posts) this.#fail(id, failure);
    }
  }

  #share(messageId: string, raw: Uint8Array): Uint8Array {
    let entry = this.#shared.get(messageId);
    if (entry === undefined) {
      // Fresh mail arrives in shared memory already (smtp-listener.ts); mail read from the spool does not.
      let shared = raw;
      if (!(raw.buffer instanceof SharedArrayBuffer)) {
        shared = new Uint8Array(new SharedArrayBuffer(raw.byteLength));
        shared.set(raw);
      }
      entry = { raw: shared, users: 0 };
      this.#shared.set(messageId, entry);
    }
    entry.users++;
    return entry.raw;
  }

  #unshare(messageId: string): void {
    const entry = this.#shared.get(messageId);
    if (entry !== undefined && --entry.users === 0) this.#shared.delete(messageId);
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(new URL("./posting-thread-entry.ts", import.meta.url), { workerData: this.#options });
    // The SMTP listener keeps the relay alive; an idle posting thread must not.
    worker.unref();
    worker.on("message", (outcomes: FromPostingThread) => {
      for (const outcome of outcomes) this.#settle(outcome);
    });
    let failure = "the posting thread exited";
    worker.on("error", (err: unknown) => {
      failure = `the posting thread failed: ${err instanceof Error ? err.message : String(err)}`;
    });
    worker.on("exit", () => {
      if (this.#worker === worker) this.#worker = undefined;
      // Only what this thread had: posts still in the outbox go to the next thread, and must not be
      // failed back to the delivery loop (which would retry them) and then posted all the same.
      for (const [id, pending] of this.#pending) {
        if (pending.worker === worker) this.#fail(id, new PostingThreadError(failure));
      }
    });
    this.#worker = worker;
    return worker;
  }

  #fail(id: number, error: PostingThreadError): void {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    pending?.reject(error);
  }

  #settle(outcome: PostOutcome): void {
    const pending = this.#pending.get(outcome.id);
    if (pending === undefined) return;
    this.#pending.delete(outcome.id);
    if ("result" in outcome) pending.resolve(outcome.result);
    // The thread's own error, its code kept (an unusable signing secret, say) for the logs.
    else pending.reject(Object.assign(new Error(outcome.error.message), outcome.error.code === undefined ? {} : { code: outcome.error.code }));
  }
}
