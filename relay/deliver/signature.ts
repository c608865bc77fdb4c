// Standard Webhooks headers (https://www.standardwebhooks.com): `webhook-id` lets receivers de-duplicate
// (it is stable across retries of one request), `webhook-timestamp` lets them drop replays, and
// `webhook-signature` proves origin when the webhook references a signing Secret.
//
// The HMAC covers the exact bytes sent. The JavaScript and Python reference verifiers decode the body
// as UTF-8 before hashing, so they can only verify bodies that are valid UTF-8: always true of `json`
// bodies, and of `multipart` bodies whose attachments are text. Binary attachments need a verifier that
// hashes the raw bytes (the Go reference library does; so does a three-line HMAC check).
import { createHmac } from "node:crypto";

export type WebhookHeaders = {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature"?: string;
};

const SECRET_PREFIX = "whsec_";

/** A signing secret that is not base64 (after an optional `whsec_` prefix). Carries no secret material. */
export class SigningSecretInvalidError extends Error {
  readonly code = "SIGNING_SECRET_INVALID";

  constructor(index: number) {
    super(`signing secret #${index + 1} is not a whsec_ value: expected base64 after the prefix`);
    this.name = "SigningSecretInvalidError";
  }
}

function secretKey(secret: string, index: number): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 === 1) throw new SigningSecretInvalidError(index);
  return Buffer.from(encoded, "base64");
}

/** `v1,<base64 HMAC-SHA256>` for each secret, space-separated: during a key rotation each one signs. */
export function signPayload(secrets: readonly string[], id: string, timestampSeconds: number, body: Buffer): string {
  return secrets
    .map((secret, i) => {
      const hmac = createHmac("sha256", secretKey(secret, i));
      hmac.update(`${id}.${timestampSeconds}.`);
      hmac.update(body);
      return `v1,${hmac.digest("base64")}`;
    })
    .join(" ");
}

/** The Standard Webhooks headers of one attempt; the signature only when secrets are given. */
export function webhookHeaders(options: {
  id: string;
  timestampSeconds: number;
  body: Buffer;
  secrets?: readonly string[] | undefined;
}): WebhookHeaders {
  const { id, timestampSeconds, body, secrets = [] } = options;
  const headers: WebhookHeaders = { "webhook-id": id, "webhook-timestamp": String(timestampSeconds) };
  if (secrets.length > 0) headers["webhook-signature"] = signPayload(secrets, id, timestampSeconds, body);
  return headers;
}
