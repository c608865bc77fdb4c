import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { Worker } from "node:worker_threads";
import { Webhook } from "standardwebhooks";
import type { InboundPostRequest } from "../../../relay/deliver/inbound-post.ts";
import { PostingThread } from "../../../relay/deliver/posting-thread.ts";
import { startHttpsReceiver, type HttpsReceiver } from "../../helpers/https-receiver.ts";
import { composeMail } from "../../helpers/sample-mail.ts";
import { testCaFile } from "../../helpers/tls-fixtures.ts";

const SECRET = `whsec_${Buffer.from("posting-thread-test-secret-0123456789").toString("base64")}`;

async function receiver(t: TestContext, ...args: Parameters<typeof startHttpsReceiver>): Promise<HttpsReceiver> {
  const r = await startHttpsReceiver(...args);
  t.after(() => r.close());
  return r;
}

function thread(t: TestContext, caFile = testCaFile): PostingThread {
  const posting = new PostingThread({ caFile, allowNetworks: ["127.0.0.0/8"], maxConnectionsPerOrigin: 4, maxResponseBytes: 65_536 });
  t.after(() => posting.close());
  return posting;
}

async function request(endpoint: string, overrides: Partial<InboundPostRequest> = {}): Promise<InboundPostRequest> {
  const raw = await composeMail({ from: "a@example.org", to: "in@example.com", subject: "Hello thread", text: "body text" });
  return {
    jobId: "msg_posting_thread_1",
    messageId: "m1",
    raw,
    format: "json",
    target: { endpoint, timeoutSeconds: 5, auth: { signingSecrets: [SECRET] } },
    context: { serverComposition: "test", filter: "hook", envelopeFrom: "a@example.org", envelopeTo: "in@example.com" },
    nowMs: Date.now(),
    ...overrides,
  };
}

test("a post made on the posting thread arrives parsed and signed, and its outcome comes back", async (t) => {
  const r = await receiver(t);
  const result = await thread(t).post(await request(`${r.origin}/hook`));
  assert.equal(result.kind, "posted");
  assert.equal(result.kind === "posted" && result.outcome.classification.kind, "ok");
  assert.equal(result.kind === "posted" && result.outcome.status, 200);
  const [received] = r.requests;
  assert.ok(received);
  assert.equal(received.headers["webhook-id"], "msg_posting_thread_1");
  const verified = new Webhook(SECRET).verify(received.body.toString("utf8"), received.headers as Record<string, string>) as Record<string, unknown>;
  assert.equal(verified.subject, "Hello thread");
  assert.equal(verified.filter, "hook");
});

test("an error answer comes back as the endpoint's status for the delivery loop to classify", async (t) => {
  const r = await receiver(t, { responder: (_req, res) => res.writeHead(503).end() });
  const result = await thread(t).post(await request(`${r.origin}/hook`));
  assert.equal(result.kind === "posted" && result.outcome.status, 503);
  assert.equal(result.kind === "posted" && result.outcome.classification.kind, "retry");
});

test("close lets a post in flight finish, then refuses new posts", async (t) => {
  const r = await receiver(t, { responder: async (_req, res) => (await sleep(300), res.writeHead(200).end()) });
  const posting = thread(t);
  const inFlight = posting.post(await request(`${r.origin}/hook`));
  await r.waitForRequests(1);
  await posting.close();
  const result = await inFlight;
  assert.equal(result.kind === "posted" && result.outcome.status, 200);
  await assert.rejects(posting.post(await request(`${r.origin}/hook`)), { code: "POSTING_THREAD_FAILED", message: /closed/ });
});

test("a thread that dies fails the posts it had, with the reason, instead of leaving them hanging", async (t) => {
  const r = await receiver(t);
  // The thread builds its client first; a CA file that vanished since start-up kills it.
  const posting = thread(t, "/nonexistent/mailhook-ca.pem");
  await assert.rejects(posting.post(await request(`${r.origin}/hook`)), { code: "POSTING_THREAD_FAILED", message: /endpoints\.caFile/ });
  assert.equal(r.requests.length, 0);
});

test("a post made in the turn the thread dies goes to the next thread, once, and is not failed", async (t) => {
  const r = await receiver(t);
  const posting = thread(t);
  // Node announces every new thread on this channel: that is where the posting thread can be caught.
  let worker: Worker | undefined;
  const caught = (message: unknown) => (worker = (message as { worker: Worker }).worker);
  subscribe("worker_threads", caught);
  t.after(() => unsubscribe("worker_threads", caught));
  assert.equal((await posting.post(await request(`${r.origin}/hook`, { jobId: "msg_before" }))).kind, "posted");
  const later = await request(`${r.origin}/hook`, { jobId: "msg_during", messageId: "m2" });
  let during: Promise<unknown> | undefined;
  // The delivery loop may post in the very turn the thread's exit is handled, before the handler runs.
  worker?.prependOnceListener("exit", () => {
    during = posting.post(later);
  });
  await worker?.terminate();
  assert.ok(during);
  assert.equal(((await during) as { kind: string }).kind, "posted");
  assert.deepEqual(r.requests.map((q) => q.headers["webhook-id"]), ["msg_before", "msg_during"]);
});
