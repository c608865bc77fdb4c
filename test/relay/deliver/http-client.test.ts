import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { Response } from "undici";
import { WebhookHttpClient, type PostRequest, type WebhookHttpClientOptions } from "../../../relay/deliver/http-client.ts";
import { renderInboundBody, type InboundContext } from "../../../relay/deliver/inbound-body.ts";
import { webhookHeaders } from "../../../relay/deliver/signature.ts";
import { startHttpsReceiver, type HttpsReceiver } from "../../helpers/https-receiver.ts";
import { binaryBytes, composeMail, parseMail } from "../../helpers/sample-mail.ts";
import { testCaFile } from "../../helpers/tls-fixtures.ts";

const LOOPBACK = ["127.0.0.0/8", "::1/128"];
const clients: WebhookHttpClient[] = [];
const receivers: HttpsReceiver[] = [];

function newClient(options: Partial<WebhookHttpClientOptions> = {}): WebhookHttpClient {
  const client = new WebhookHttpClient({
    caFile: testCaFile,
    allowNetworks: LOOPBACK,
    maxConnectionsPerOrigin: 4,
    maxResponseBytes: 65_536,
    ...options,
  });
  clients.push(client);
  return client;
}

async function newReceiver(...args: Parameters<typeof startHttpsReceiver>): Promise<HttpsReceiver> {
  const receiver = await startHttpsReceiver(...args);
  receivers.push(receiver);
  return receiver;
}

const post = (client: WebhookHttpClient, url: string, extra: Partial<PostRequest> = {}) =>
  client.post({ url, headers: { "content-type": "text/plain" }, body: Buffer.from("hello"), timeoutMs: 5_000, ...extra });

after(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

describe("posting to a trusted HTTPS endpoint", () => {
  let receiver: HttpsReceiver;
  let client: WebhookHttpClient;
  before(async () => {
    receiver = await newReceiver();
    client = newClient();
  });

  test("a 2xx answer is a success carrying the status", async () => {
    const outcome = await post(client, `${receiver.origin}/hook?x=1`);
    assert.equal(outcome.status, 200);
    assert.deepEqual(outcome.classification, { kind: "ok" });
    assert.equal(outcome.error, null);
    assert.ok(outcome.durationMs >= 0);
    const request = receiver.requests.at(-1);
    assert.equal(request?.method, "POST");
    assert.equal(request?.url, "/hook?x=1");
    assert.equal(request?.headers["content-type"], "text/plain");
    assert.equal(request?.headers["user-agent"], "mailhook");
    assert.equal(request?.body.toString(), "hello");
  });

  test("Basic auth arrives in the Authorization header", async () => {
    await post(client, `${receiver.origin}/auth`, { basicAuth: { username: "relay", password: "pä:ss" } });
    const authorization = receiver.requests.at(-1)?.headers.authorization ?? "";
    assert.equal(Buffer.from(authorization.replace(/^Basic /, ""), "base64").toString("utf8"), "relay:pä:ss");
  });

  test("consecutive posts to one origin reuse pooled connections", async () => {
    const fresh = await newReceiver();
    for (let i = 0; i < 6; i++) await post(client, `${fresh.origin}/reuse`);
    assert.equal(fresh.requests.length, 6);
    assert.ok(fresh.connections() < 6, `${fresh.connections()} connections for 6 posts`);
  });

  test("a large response body is cut off at the limit, and the answer still counts", async () => {
    const small = await newReceiver({ responder: (_req, res) => res.writeHead(200).end(Buffer.alloc(1_048_576)) });
    const outcome = await post(newClient({ maxResponseBytes: 1024 }), `${small.origin}/big`);
    assert.equal(outcome.status, 200);
    assert.deepEqual(outcome.classification, { kind: "ok" });
  });
});

describe("answers that are not a success", () => {
  test("a redirect is not followed, and its target never hears from the relay", async () => {
    const receiver = await newReceiver();
    receiver.respondWith((req, res) => {
      if (req.url === "/hook") res.writeHead(302, { location: `${receiver.origin}/target` }).end();
      else res.writeHead(200).end();
    });
    const outcome = await post(newClient(), `${receiver.origin}/hook`);
    assert.equal(outcome.status, 302);
    assert.deepEqual(outcome.classification, { kind: "retry", reason: "HTTP 302 (redirect not followed)" });
    assert.deepEqual(
      receiver.requests.map((r) => r.url),
      ["/hook"],
    );
  });

  test("410 Gone reads as gone", async () => {
    const receiver = await newReceiver({ responder: (_req, res) => res.writeHead(410).end("gone") });
    const outcome = await post(newClient(), `${receiver.origin}/hook`);
    assert.equal(outcome.status, 410);
    assert.deepEqual(outcome.classification, { kind: "gone" });
  });

  test("503 with Retry-After is retried after the time the endpoint asked for", async () => {
    const receiver = await newReceiver({ responder: (_req, res) => res.writeHead(503, { "retry-after": "90" }).end() });
    const outcome = await post(newClient(), `${receiver.origin}/hook`);
    assert.deepEqual(outcome.classification, { kind: "retry", reason: "HTTP 503", retryAfterMs: 90_000 });
  });

  test("an endpoint that never answers times out and is retried", async () => {
    const receiver = await newReceiver({ responder: () => undefined });
    const outcome = await post(newClient(), `${receiver.origin}/hook`, { timeoutMs: 300 });
    assert.equal(outcome.status, null);
    assert.deepEqual(outcome.classification, { kind: "retry", reason: "timeout" });
    assert.equal(outcome.error?.code, "ENDPOINT_TIMEOUT");
    assert.equal(receiver.requests.length, 1);
  });

  test("a closed port reads as ECONNREFUSED", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const outcome = await post(newClient(), `https://127.0.0.1:${port}/hook`);
    assert.deepEqual(outcome.classification, { kind: "retry", reason: "ECONNREFUSED" });
    assert.equal(outcome.error?.code, "ECONNREFUSED");
  });
});

describe("TLS", () => {
  test("a certificate from an untrusted CA fails the post as a TLS error", async () => {
    const receiver = await newReceiver();
    const outcome = await post(newClient({ caFile: null }), `${receiver.origin}/hook`);
    assert.deepEqual(outcome.classification, { kind: "retry", reason: "tls: UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    assert.equal(receiver.requests.length, 0);
  });

  test("a CA file that is missing or not PEM stops the client at construction", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailhook-ca-"));
    after(() => rm(dir, { recursive: true, force: true }));
    const garbage = join(dir, "garbage.pem");
    await writeFile(garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    for (const caFile of [join(dir, "missing.pem"), garbage]) {
      assert.throws(() => newClient({ caFile }), (error: Error & { code?: string }) => error.code === "CA_FILE_INVALID");
    }
  });
});

describe("endpoint address guard", () => {
  let receiver: HttpsReceiver;
  before(async () => {
    receiver = await newReceiver();
  });

  test("a loopback IP endpoint is refused when allowNetworks is empty, without any connection", async () => {
    const outcome = await post(newClient({ allowNetworks: [] }), `${receiver.origin}/hook`);
    assert.equal(outcome.status, null);
    assert.deepEqual(outcome.classification, { kind: "retry", reason: "endpoint address forbidden" });
    assert.equal(outcome.error?.code, "ENDPOINT_ADDRESS_FORBIDDEN");
    assert.match(outcome.error?.message ?? "", /127\.0\.0\.1 is loopback/);
    assert.equal(receiver.connections(), 0);
  });

  test("a host name that resolves to loopback is refused too, without any connection", async () => {
    const outcome = await post(newClient({ allowNetworks: [] }), `https://localhost:${receiver.port}/hook`);
    assert.equal(outcome.error?.code, "ENDPOINT_ADDRESS_FORBIDDEN");
    assert.equal(receiver.connections(), 0);
  });

  test("a private network that is not the endpoint's does not allow it", async () => {
    const outcome = await post(newClient({ allowNetworks: ["10.0.0.0/8"] }), `${receiver.origin}/hook`);
    assert.equal(outcome.error?.code, "ENDPOINT_ADDRESS_FORBIDDEN");
  });

  test("loopback endpoints are reached once allowNetworks lists loopback", async () => {
    const client = newClient({ allowNetworks: ["127.0.0.0/8"] });
    assert.deepEqual((await post(client, `${receiver.origin}/hook`)).classification, { kind: "ok" });
    const both = newClient({ allowNetworks: LOOPBACK });
    assert.deepEqual((await post(both, `https://localhost:${receiver.port}/hook`)).classification, { kind: "ok" });
  });
});

describe("endpoint URLs", () => {
  test("credentials in the URL and plain http are refused and never echoed", async () => {
    const client = newClient();
    for (const url of ["https://user:hunter2@127.0.0.1:1/hook", "http://127.0.0.1:1/hook", "not a url"]) {
      const outcome = await post(client, url);
      assert.deepEqual(outcome.classification, { kind: "retry", reason: "invalid endpoint URL" });
      assert.equal(outcome.error?.code, "ENDPOINT_URL_INVALID");
      assert.ok(!outcome.error?.message.includes("hunter2"));
    }
  });
});

describe("an inbound post over the wire", () => {
  const context: InboundContext = {
    serverComposition: "default",
    filter: "orders",
    envelopeFrom: "sender@example.net",
    envelopeTo: "orders@example.com",
    apiKey: "key-123",
  };
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  let receiver: HttpsReceiver;
  let client: WebhookHttpClient;
  before(async () => {
    receiver = await newReceiver();
    client = newClient();
  });

  const send = async (format: "multipart" | "json", attachments: { filename: string; content: Buffer }[]) => {
    const mail = await parseMail(
      await composeMail({ from: "sender@example.net", to: "orders@example.com", subject: "Order", text: "hi", attachments }),
    );
    const { contentType, body } = renderInboundBody(format, mail, context);
    const signed = webhookHeaders({ id: `msg_${format}`, timestampSeconds: Math.floor(Date.now() / 1000), body, secrets: [secret] });
    const outcome = await client.post({
      url: `${receiver.origin}/inbound`,
      headers: { "content-type": contentType, ...signed },
      body,
      timeoutMs: 5_000,
      basicAuth: { username: "u", password: "p" },
    });
    assert.deepEqual(outcome.classification, { kind: "ok" });
    const received = receiver.requests.at(-1);
    assert.ok(received);
    return received;
  };

  test("a multipart post parses as a receiver would, binary attachment byte-identical, signed over the raw body", async () => {
    const binary = binaryBytes();
    const received = await send("multipart", [
      { filename: "データ.bin", content: binary },
      { filename: "note.txt", content: Buffer.from("text") },
    ]);
    const form = await new Response(received.body, {
      headers: { "content-type": received.headers["content-type"] ?? "" },
    }).formData();
    assert.equal(form.get("api_key"), "key-123");
    assert.equal(form.get("filter"), "orders");
    assert.equal(form.get("attachments"), "2");
    const file = form.get("attachment1");
    assert.ok(file instanceof File);
    assert.equal(file.name, "データ.bin");
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), binary);
    assert.ok(received.headers.authorization?.startsWith("Basic "));

    // The binary body is not UTF-8, so verify the way a raw-bytes verifier does (see signature.ts).
    const id = String(received.headers["webhook-id"]);
    const timestamp = String(received.headers["webhook-timestamp"]);
    const key = Buffer.from(secret.slice("whsec_".length), "base64");
    const expected = createHmac("sha256", key).update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), received.body])).digest("base64");
    assert.equal(received.headers["webhook-signature"], `v1,${expected}`);
  });

  test("a multipart post with text attachments verifies with the Standard Webhooks library", async () => {
    const received = await send("multipart", [{ filename: "a.txt", content: Buffer.from("plain text") }]);
    assert.doesNotThrow(() =>
      new Webhook(secret).verify(received.body, received.headers as Record<string, string>, { jsonParse: false }),
    );
  });

  test("a json post carries the fields and verifies with the Standard Webhooks library", async () => {
    const received = await send("json", [{ filename: "a.bin", content: binaryBytes(16) }]);
    assert.equal(received.headers["content-type"], "application/json");
    const payload = new Webhook(secret).verify(received.body, received.headers as Record<string, string>) as Record<string, unknown>;
    assert.equal(payload.api_key, "key-123");
    assert.equal(payload.attachments, 1);
    assert.equal(payload["envelope-to"], "orders@example.com");
  });
});
