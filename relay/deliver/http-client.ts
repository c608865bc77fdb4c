// Posts webhook bodies to endpoints. One undici Agent holds a keep-alive pool per origin; every
// connection goes through the guarded connector (no loopback, private or link-local endpoints unless
// allowed) and verifies TLS against Node's default CAs plus the optional `endpoints.caFile`.
// Redirects are never followed: a 3xx is a failed attempt like any other error answer.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { getCACertificates } from "node:tls";
import { Agent } from "undici";
import { classify, errorCode, type Classification } from "./classify.ts";
import { buildGuardedConnector } from "./guarded-connector.ts";

export type WebhookHttpClientOptions = {
  /** Extra PEM bundle trusted in addition to Node's default CAs (relay.yaml `endpoints.caFile`). */
  caFile: string | null;
  /** CIDR networks exempt from the address guard (relay.yaml `endpoints.allowNetworks`). */
  allowNetworks: readonly string[];
  maxConnectionsPerOrigin: number;
  /** Response bodies are read up to this many bytes, then the connection is dropped; never kept. */
  maxResponseBytes: number;
};

export type BasicAuth = { username: string; password: string };

export type PostRequest = {
  /** `https://` only; credentials in the URL are refused (use `basicAuth`). */
  url: string;
  /** Lower-case names: content-type and the webhook-* headers. */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  /** One deadline for the whole exchange; see WebhookHttpClient.post. */
  timeoutMs: number;
  basicAuth?: BasicAuth | undefined;
};

export type HttpOutcome = {
  /** The endpoint's status code; null when no response arrived. */
  status: number | null;
  classification: Classification;
  durationMs: number;
  /** Transport failure, for logs: a stable code and a one-line message free of secrets and URLs. */
  error: { code: string; message: string } | null;
};

// The connector's own limit only bounds a connection attempt that outlives its request (whose deadline
// already failed the post); 60 s is the largest timeoutSeconds a webhook may set.
const CONNECT_TIMEOUT_MS = 60_000;
const USER_AGENT = "mailhook";
const MAX_ERROR_MESSAGE = 200;

/** A post whose deadline passed before the response headers arrived. */
class EndpointTimeoutError extends Error {
  readonly code = "ENDPOINT_TIMEOUT";

  constructor(timeoutMs: number) {
    super(`no response within ${timeoutMs} ms`);
    this.name = "EndpointTimeoutError";
  }
}

class EndpointUrlError extends Error {
  readonly code = "ENDPOINT_URL_INVALID";

  constructor(problem: string) {
    super(`invalid endpoint URL: ${problem}`);
    this.name = "EndpointUrlError";
  }
}

/** Reads a CA bundle and checks every certificate in it, so a bad file fails at start-up, not per post. */
export function readCaBundle(caFile: string): string {
  let pem: string;
  try {
    pem = readFileSync(caFile, "utf8");
  } catch (cause) {
    throw Object.assign(new Error(`cannot read endpoints.caFile ${caFile}: ${errorCode(cause)}`, { cause }), {
      code: "CA_FILE_INVALID",
    });
  }
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  try {
    if (certificates.length === 0) throw new Error("no PEM certificate found");
    for (const certificate of certificates) new X509Certificate(certificate);
  } catch (cause) {
    throw Object.assign(new Error(`endpoints.caFile ${caFile} is not a PEM certificate bundle`, { cause }), {
      code: "CA_FILE_INVALID",
    });
  }
  return pem;
}

function endpointUrl(text: string): URL {
  if (!URL.canParse(text)) throw new EndpointUrlError("not a URL");
  const url = new URL(text);
  if (url.protocol !== "https:") throw new EndpointUrlError("only https:// is allowed");
  if (url.username !== "" || url.password !== "") throw new EndpointUrlError("credentials belong in basicAuth, not the URL");
  return url;
}

function oneLine(message: string): string {
  const line = message.replace(/\s+/g, " ").trim();
  return line.length > MAX_ERROR_MESSAGE ? `${line.slice(0, MAX_ERROR_MESSAGE)}…` : line;
}

/** Reads and drops a response body up to `limit` bytes; stopping early closes that connection. */
async function discard(body: Readable, limit: number): Promise<void> {
  let read = 0;
  for await (const chunk of body) {
    read += (chunk as Buffer).length;
    if (read > limit) break;
  }
}

export class WebhookHttpClient {
  readonly #agent: Agent;
  readonly #maxResponseBytes: number;

  constructor(options: WebhookHttpClientOptions) {
    const extra = options.caFile === null ? [] : [readCaBundle(options.caFile)];
    this.#agent = new Agent({
      connect: buildGuardedConnector({
        ca: [...getCACertificates("default"), ...extra],
        allowNetworks: options.allowNetworks,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
      }),
      connections: options.maxConnectionsPerOrigin,
      allowH2: false,
    });
    this.#maxResponseBytes = options.maxResponseBytes;
  }

  /**
   * POSTs once and classifies the result; never throws. `timeoutMs` is one deadline from this call:
   * waiting for a pooled connection, DNS, TCP and TLS connect, sending the body and receiving the
   * response headers must all fit in it, or the post is a `timeout` retry. The response body is then
   * drained under the same deadline; a status that already arrived stands even if draining fails, so
   * a receiver that answered 2xx is never posted to again.
   */
  async post(request: PostRequest): Promise<HttpOutcome> {
    const started = performance.now();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new EndpointTimeoutError(request.timeoutMs)), request.timeoutMs);
    try {
      const url = endpointUrl(request.url);
      const headers: Record<string, string> = { "user-agent": USER_AGENT, ...request.headers };
      if (request.basicAuth) {
        const { username, password } = request.basicAuth;
        headers.authorization = `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
      }
      const response = await this.#agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: "POST",
        headers,
        body: request.body,
        signal: deadline.signal,
        // undici's own timers start later than the deadline and match it, so neither fires first.
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      });
      const status = response.statusCode;
      await discard(response.body, this.#maxResponseBytes).catch(() => undefined);
      return {
        status,
        classification: classify({ response: { status, headers: response.headers } }, Date.now()),
        durationMs: performance.now() - started,
        error: null,
      };
    } catch (error) {
      return {
        status: null,
        classification: classify({ error }, Date.now()),
        durationMs: performance.now() - started,
        error: { code: errorCode(error), message: oneLine(error instanceof Error ? error.message : String(error)) },
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for in-flight posts, then closes every pooled connection. */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}
