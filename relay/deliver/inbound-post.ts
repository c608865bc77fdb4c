// One inbound post, from the stored mail to the endpoint's answer: parse, render the seed-compatible
// body, sign and post. No spool and no decisions: the delivery loop (inbound-worker.ts) decides what an
// outcome means. It runs on the posting thread (posting-thread.ts), off the SMTP event loop, or in it
// when the relay has about one CPU (inbound-poster.ts).
import type { HttpOutcome, WebhookHttpClient } from "./http-client.ts";
import { renderInboundBody, type InboundBodyFormat, type InboundContext } from "./inbound-body.ts";
import { readMailContent, type MailContent } from "./mail-content.ts";
import { postSigned, type SignedPostTarget } from "./signed-post.ts";

export interface InboundPostRequest {
  /** The `webhook-id`. */
  readonly jobId: string;
  /** Jobs of one mail in flight together share one parse. */
  readonly messageId: string;
  readonly raw: Uint8Array;
  readonly format: InboundBodyFormat;
  readonly target: SignedPostTarget;
  readonly context: InboundContext;
  /** The attempt's time: the `webhook-timestamp`. */
  readonly nowMs: number;
}

export type InboundPostResult =
  | { readonly kind: "posted"; readonly outcome: HttpOutcome }
  /** The mail cannot be parsed: it never will be, so there is nothing to post. */
  | { readonly kind: "unparseable"; readonly reason: string };

/** Turns a post request into its outcome: in this thread (InboundPostPipeline) or on the posting thread. */
export interface InboundPoster {
  post(request: InboundPostRequest): Promise<InboundPostResult>;
}

export class InboundPostPipeline implements InboundPoster {
  readonly #client: WebhookHttpClient;
  readonly #parsed = new Map<string, { mail: Promise<MailContent>; users: number }>();

  constructor(client: WebhookHttpClient) {
    this.#client = client;
  }

  async post(request: InboundPostRequest): Promise<InboundPostResult> {
    const entry = this.#enter(request.messageId, request.raw);
    try {
      let mail: MailContent;
      try {
        mail = await entry.mail;
      } catch (err) {
        return { kind: "unparseable", reason: err instanceof Error ? err.message : String(err) };
      }
      const rendered = renderInboundBody(request.format, mail, request.context);
      return { kind: "posted", outcome: await postSigned(this.#client, request.target, request.jobId, rendered, request.nowMs) };
    } finally {
      if (--entry.users === 0) this.#parsed.delete(request.messageId);
    }
  }

  /**
   * The mail's reading, shared by every job of it in flight (fan-out, several recipients): one parse,
   * and one copy of its decoded attachments in memory, for as long as any of its posts runs.
   */
  #enter(messageId: string, raw: Uint8Array): { mail: Promise<MailContent>; users: number } {
    let entry = this.#parsed.get(messageId);
    if (entry === undefined) {
      entry = { mail: readMailContent(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)), users: 0 };
      this.#parsed.set(messageId, entry);
    }
    entry.users++;
    return entry;
  }
}
