import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { test } from "node:test";
import { decodeEventRequest, eventRig, eventWebhook, settle, T0 } from "./event-harness.ts";

const deliveriesV2 = ["created", "returnPath", "from", "to", "messageId", "reason", "senderIp", "sourceIp", "status", "subject", "apiData"];
const deliveriesV1 = ["created", "envelopeFrom", "envelopeTo", "messageId", "reason", "senderIp", "sourceIp", "status", "subject"];

test("both versions and both content types arrive as a seed receiver parses them, signed, with local times", async (t) => {
  const rig = await eventRig(t);
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  rig.configure([
    eventWebhook(rig.receiver, "v1-form", { version: "1", contentType: "form", timeZone: "America/New_York" }),
    eventWebhook(rig.receiver, "v2-form", { auth: { apiKey: "key 1&2", basic: { username: "u", password: "p" } } }),
    eventWebhook(rig.receiver, "v2-json", { contentType: "json", timeZone: "Asia/Tokyo", auth: { signingSecrets: [secret] } }),
  ]);
  await rig.record(1);
  await rig.receiver.waitForRequests(3);
  // Three seconds later New York has jumped from 01:59 to 03:00.
  rig.clock.now = T0 + 3000;
  const [job] = rig.outbound.claimDue(rig.clock.now, 1);
  assert.ok(job);
  await rig.outbound.failed(job.id, { reason: "550 5.1.1 <r1-0@example.test>: user unknown", errorStatus: 2, enhancedStatus: "5.1.1" });
  const requests = await rig.receiver.waitForRequests(9);
  /** The items a path received of a type, across its requests, with the first such request. */
  const byPath = (path: string, type: string) => {
    const decoded = requests.filter((r) => r.url === path).map((r) => ({ r, ...decodeEventRequest(r.body, r.headers["content-type"]) })).filter((d) => d.params.event_type === type);
    assert.ok(decoded[0], `${path} ${type}`);
    return { ...decoded[0], items: decoded.flatMap((d) => d.items) };
  };

  const v1 = byPath("/v1-form", "deliveries");
  assert.equal(v1.r.headers["content-type"], "application/x-www-form-urlencoded");
  assert.deepEqual(Object.keys(v1.params), ["server_composition", "event_type", "event"]);
  assert.deepEqual(v1.items.map((i) => Object.keys(i)), [deliveriesV1, deliveriesV1]);
  assert.deepEqual(v1.items.map((i) => [i.status, i.created, i.envelopeFrom, i.envelopeTo, i.sourceIp, i.reason]), [
    ["queued", "2025-03-09 01:59:58", "envelope1@example.org", "r1-0@example.test", "10.0.24.10", ""],
    ["failed", "2025-03-09 03:00:01", "envelope1@example.org", "r1-0@example.test", "", "550 5.1.1 <r1-0@example.test>: user unknown"],
  ]);
  const v1Bounce = byPath("/v1-form", "bounces");
  assert.deepEqual(v1Bounce.items, [{
    created: "2025-03-09 03:00:01", envelopeFrom: "envelope1@example.org", envelopeTo: "r1-0@example.test", messageId: "<m1@example.org>",
    reason: "550 5.1.1 <r1-0@example.test>: user unknown", senderIp: "", sourceIp: "", status: "bounced", subject: "message #1", errorStatus: 2, enhancedStatus: "5.1.1",
  }]);

  const v2 = byPath("/v2-form", "deliveries");
  assert.deepEqual(Object.keys(v2.params), ["api_key", "server_composition", "event_type", "event"]);
  assert.deepEqual([v2.params.api_key, v2.params.server_composition], ["key 1&2", "test-composition"]);
  assert.equal(v2.r.headers.authorization, `Basic ${Buffer.from("u:p").toString("base64")}`);
  assert.deepEqual(v2.items.map((i) => Object.keys(i)), [deliveriesV2, deliveriesV2]);
  assert.deepEqual(v2.items[0], {
    created: "2025-03-09 06:59:58", returnPath: "envelope1@example.org", from: "sender1@example.org", to: "r1-0@example.test", messageId: "<m1@example.org>",
    reason: "", senderIp: "", sourceIp: "10.0.24.10", status: "queued", subject: "message #1", apiData: "API1",
  });

  const json = byPath("/v2-json", "bounces");
  assert.equal(json.r.headers["content-type"], "application/json");
  assert.deepEqual(json.items.map((i) => [i.created, i.status, i.apiData, i.errorStatus, i.enhancedStatus]), [["2025-03-09 16:00:01", "bounced", "API1", 2, "5.1.1"]]);
  const id = String(json.r.headers["webhook-id"]);
  const timestamp = String(json.r.headers["webhook-timestamp"]);
  const expected = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64")).update(`${id}.${timestamp}.`).update(json.r.body).digest("base64");
  assert.equal(json.r.headers["webhook-signature"], `v1,${expected}`);
  assert.match(id, /^evt_/);
  assert.equal(new Set(requests.map((r) => r.headers["webhook-id"])).size, 9, "every batch has its own id");
});

test("a full batch goes at once, never more than maxEvents, and the rest waits for the interval", async (t) => {
  const rig = await eventRig(t);
  rig.configure([eventWebhook(rig.receiver, "a", { events: { deliveries: true, bounces: false }, batch: { intervalSeconds: 600, maxEvents: 3 } })]);
  await rig.record(7);
  const first = await rig.receiver.waitForRequests(2);
  assert.deepEqual(first.map((r) => decodeEventRequest(r.body, r.headers["content-type"]).items.length), [3, 3]);
  await settle();
  assert.equal(rig.receiver.requests.length, 2, "the seventh event waits for the interval");
  assert.equal(rig.outbox.waiting("ns/a", "deliveries"), 1);
  rig.advance(600_000);
  const all = await rig.receiver.waitForRequests(3);
  assert.deepEqual(all.flatMap((r) => decodeEventRequest(r.body, r.headers["content-type"]).items.map((i) => i.to)), Array.from({ length: 7 }, (_, i) => `r1-${i}@example.test`));
  const sizes = await rig.metrics.eventBatchSize.get();
  assert.equal(sizes.values.find((v) => v.metricName === "mailhook_event_batch_size_events_count")?.value, 3);
});

test("a partial batch goes every interval: the first event at once, later ones when the interval has passed", async (t) => {
  const rig = await eventRig(t);
  rig.configure([eventWebhook(rig.receiver, "a", { batch: { intervalSeconds: 10, maxEvents: 100 } })]);
  await rig.record(2);
  await rig.receiver.waitForRequests(1);
  rig.clock.now += 5000;
  await rig.record(3);
  await settle();
  assert.equal(rig.receiver.requests.length, 1);
  rig.advance(5000);
  const [, second] = await rig.receiver.waitForRequests(2);
  assert.ok(second);
  assert.equal(decodeEventRequest(second.body, second.headers["content-type"]).items.length, 3);
});

test("while the endpoint is down a batch is retried with the same id and body, and batches arrive in order after recovery", async (t) => {
  const rig = await eventRig(t);
  rig.configure([eventWebhook(rig.receiver, "a", { batch: { intervalSeconds: 1, maxEvents: 2 } })]);
  let failures = 3;
  rig.receiver.respondWith((_request, response) => {
    response.writeHead(failures-- > 0 ? 503 : 200).end();
  });
  // A virtual clock running fast, so the 1 s, 2 s, 4 s back-off passes in milliseconds.
  const ticker = setInterval(() => rig.advance(500), 5);
  t.after(() => clearInterval(ticker));
  await rig.record(1);
  await rig.receiver.waitForRequests(1);
  await rig.record(3);
  const requests = await rig.receiver.waitForRequests(6);
  clearInterval(ticker);
  await settle();
  const ids = requests.map((r) => String(r.headers["webhook-id"]));
  assert.deepEqual(ids.slice(0, 4), [ids[0], ids[0], ids[0], ids[0]], "four attempts of the first batch");
  assert.ok(requests.slice(1, 4).every((r) => r.body.equals(requests[0]!.body)), "with the same body");
  assert.equal(new Set(ids).size, 3);
  const delivered = requests.slice(3).flatMap((r) => decodeEventRequest(r.body, r.headers["content-type"]).items.map((i) => i.to));
  assert.deepEqual(delivered, ["r1-0@example.test", "r2-0@example.test", "r2-1@example.test", "r2-2@example.test"]);
  const outcomes = (await rig.metrics.eventBatches.get()).values.map((v) => [v.labels.outcome, v.value]);
  assert.deepEqual(outcomes.sort(), [["delivered", 3], ["retry", 3]]);
  assert.equal(rig.outbox.deliveryFacts().get("ns/a")?.lastError, "HTTP 503");
  assert.deepEqual(rig.outbox.backlog().get("ns/a"), { waiting: { deliveries: 0, bounces: 0 }, batches: 0, eventsInBatches: 0 });
});

test("batches not delivered within maxAgeHours are given up, counted, and shown in the webhook's facts", async (t) => {
  const rig = await eventRig(t);
  rig.configure([eventWebhook(rig.receiver, "a", { events: { deliveries: true, bounces: false }, batch: { intervalSeconds: 1, maxEvents: 1 }, retry: { maxAgeHours: 1 } })]);
  rig.receiver.respondWith((_request, response) => response.writeHead(500).end());
  await rig.record(2);
  await rig.receiver.waitForRequests(1);
  await settle(50);
  rig.advance(2 * 3_600_000);
  await rig.receiver.waitForRequests(2);
  await settle();
  const ids = rig.receiver.requests.map((r) => r.headers["webhook-id"]);
  assert.equal(ids[0], ids[1], "the first batch was tried twice; the second, behind it, expired untried");
  const facts = rig.outbox.deliveryFacts().get("ns/a");
  assert.deepEqual([facts?.eventsGivenUp, facts?.batchesGivenUp], [2, 2]);
  assert.match(String(facts?.lastGiveUpReason), /not attempted within 1 hours/);
  const givenUp = (await rig.metrics.eventsGivenUp.get()).values.map((v) => [v.labels.webhook, v.labels.reason, v.value]);
  assert.deepEqual(givenUp, [["ns/a", "expired", 2]]);
  assert.equal((await rig.metrics.eventBatchesGivenUp.get()).values[0]?.value, 2);

  rig.receiver.respondWith((_request, response) => response.writeHead(204).end());
  await rig.record(1);
  const last = (await rig.receiver.waitForRequests(3))[2];
  assert.ok(last);
  assert.deepEqual(decodeEventRequest(last.body, last.headers["content-type"]).items.map((i) => i.to), ["r2-0@example.test"]);
  await settle();
  const pending = await rig.metrics.eventsPending.get();
  assert.deepEqual(pending.values.map((v) => v.value), [0]);
});
