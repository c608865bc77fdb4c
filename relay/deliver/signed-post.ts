// One webhook request as every webhook kind sends it: the rendered body, Standard Webhooks headers
// (the id stays the same across retries; the timestamp and signatures are made per attempt), Basic
// auth when configured, and the webhook's own timeout.
import type { ResolvedAuth } from "../config/schema.ts";
import type { HttpOutcome, WebhookHttpClient } from "./http-client.ts";
import { webhookHeaders } from "./signature.ts";

export interface SignedPostTarget {
  readonly endpoint: string;
  readonly timeoutSeconds: number;
  readonly auth: ResolvedAuth;
}

export function postSigned(
  client: WebhookHttpClient,
  target: SignedPostTarget,
  id: string,
  rendered: { readonly contentType: string; readonly body: Buffer },
  nowMs: number,
): Promise<HttpOutcome> {
  const { contentType, body } = rendered;
  return client.post({
    url: target.endpoint,
    headers: {
      "content-type": contentType,
      ...webhookHeaders({ id, timestampSeconds: Math.floor(nowMs / 1000), body, secrets: target.auth.signingSecrets }),
    },
    body,
    timeoutMs: target.timeoutSeconds * 1000,
    basicAuth: target.auth.basic,
  });
}
