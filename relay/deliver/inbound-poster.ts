// Where inbound posts run. On the posting thread (posting-thread.ts) they take their CPU beside the SMTP
// event loop's; with about one CPU to use, the thread has nothing to run beside and only adds its
// hand-over (on 2 cores shared with the load: 0.30 CPU ms per small mail in this thread, 0.34 with it).
import { cpuAllowance } from "./cpu-allowance.ts";
import { WebhookHttpClient, type WebhookHttpClientOptions } from "./http-client.ts";
import { InboundPostPipeline, type InboundPoster } from "./inbound-post.ts";
import { PostingThread } from "./posting-thread.ts";

export type ClosablePoster = InboundPoster & { close(): Promise<void> };

/** relay.yaml `endpoints.postingThread`: "auto" wants the thread from 1.5 CPUs up. */
export function wantsPostingThread(setting: "auto" | boolean, cpus: () => number = cpuAllowance): boolean {
  return setting === "auto" ? cpus() >= 1.5 : setting;
}

/** Either way the inbound posts get a connection pool of their own, apart from EventWebhook batches. */
export function inboundPoster(options: WebhookHttpClientOptions, onThread: boolean): ClosablePoster {
  if (onThread) return new PostingThread(options);
  const client = new WebhookHttpClient(options);
  const pipeline = new InboundPostPipeline(client);
  return { post: (request) => pipeline.post(request), close: () => client.close() };
}
