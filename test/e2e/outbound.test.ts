// Outbound relaying end to end, in process: a relay-source client submits → the relay delivers to a
// real destination SMTP server → EventWebhooks receive queued / succeeded / failed / bounced in the
// seed format; a bounce mail sent back to the VERP return path becomes a `bounced` event too.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import nodemailer from "nodemailer";
import type { EventWebhookConfig } from "../../relay/config/schema.ts";
import { startHttpsReceiver, type ReceivedRequest } from "../helpers/https-receiver.ts";
import { startRelay } from "../helpers/relay-harness.ts";
import { startSmtpSink } from "../helpers/smtp-sink.ts";

type Item = Record<string, unknown>;

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function eventWebhook(endpoint: string, overrides: Partial<EventWebhookConfig> = {}): EventWebhookConfig {
  return {
    key: "default/events",
    namespace: "default",
    name: "events",
    endpoint,
    events: { deliveries: true, bounces: true },
    version: "2",
    contentType: "json",
    timeZone: "Asia/Tokyo",
    auth: { apiKey: "event-key" },
    batch: { intervalSeconds: 1, maxEvents: 100 },
    retry: { maxAgeHours: 24 },
    timeoutSeconds: 5,
    ...overrides,
  };
}

/** Every event item received so far, per event_type, parsed as a receiver would. */
function itemsOf(requests: readonly ReceivedRequest[]): { deliveries: Item[]; bounces: Item[] } {
  const out = { deliveries: [] as Item[], bounces: [] as Item[] };
  for (const r of requests) {
    const contentType = String(r.headers["content-type"]);
    let body: { event_type: string; event: Record<string, Item[]>; api_key?: string };
    if (contentType.startsWith("application/json")) {
      body = JSON.parse(r.body.toString("utf8")) as typeof body;
    } else {
      const form = new URLSearchParams(r.body.toString("utf8"));
      body = { event_type: form.get("event_type") ?? "", event: JSON.parse(form.get("event") ?? "{}") as Record<string, Item[]>, api_key: form.get("api_key") ?? undefined };
    }
    assert.equal(body.api_key, "event-key");
    const type = body.event_type as "deliveries" | "bounces";
    out[type].push(...(body.event[type] ?? []));
  }
  return out;
}

async function waitForItems(requests: readonly ReceivedRequest[], done: (items: { deliveries: Item[]; bounces: Item[] }) => boolean) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const items = itemsOf(requests);
    if (done(items)) return items;
    if (Date.now() > deadline) throw new Error(`events not complete: ${JSON.stringify(items)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("submitted mail is delivered, refused recipients bounce, and every event reaches the EventWebhook", async () => {
  const sink = await startSmtpSink({
    rules: { rcptTo: (address) => (address.startsWith("unknown@") ? { code: 550, message: "5.1.1 <unknown@dest.test>: Recipient address rejected: User unknown" } : undefined) },
  });
  const receiver = await startHttpsReceiver();
  const h = await startRelay({
    submission: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"], hostname: "relay.test" },
    outbound: { routes: { "dest.test": `127.0.0.1:${sink.port}` }, bounceDomain: "bounces.example.com", heloName: "relay.test" },
  });
  cleanups.push(() => sink.close(), () => receiver.close(), () => h.close());
  h.relay.applyWebhooks({ inbound: [], event: [eventWebhook(`${receiver.origin}/events`)] });

  const client = nodemailer.createTransport({ host: "127.0.0.1", port: h.relay.submissionPort, secure: false, ignoreTLS: true });
  await client.sendMail({
    from: "Shop <shop@sender.test>",
    to: ["good@dest.test", "unknown@dest.test"],
    subject: "Your order",
    text: "line one\nline two\n",
    headers: { "X-Mailhook-Api-Data": "order-42" },
  });
  client.close();

  const items = await waitForItems(receiver.requests, (i) => i.deliveries.length >= 4 && i.bounces.length >= 1);
  const byStatus = (status: string) => items.deliveries.filter((d) => d.status === status);
  assert.deepEqual(byStatus("queued").map((d) => d.to).sort(), ["good@dest.test", "unknown@dest.test"]);
  const [succeeded] = byStatus("succeeded");
  assert.equal(succeeded?.to, "good@dest.test");
  assert.equal(succeeded?.senderIp, "127.0.0.1");
  assert.equal(succeeded?.apiData, "order-42");
  assert.equal(succeeded?.subject, "Your order");
  assert.equal(succeeded?.from, "Shop <shop@sender.test>");
  assert.equal(succeeded?.returnPath, "shop@sender.test");
  assert.match(String(succeeded?.created), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(byStatus("queued")[0]?.sourceIp, "127.0.0.1");
  assert.equal(byStatus("failed")[0]?.to, "unknown@dest.test");
  assert.match(String(byStatus("failed")[0]?.reason), /User unknown/);
  assert.equal(items.bounces[0]?.to, "unknown@dest.test");
  assert.equal(items.bounces[0]?.errorStatus, 2);

  // What the destination got: a VERP return path naming the job, CRLF line ends, our trace, no apiData.
  const [delivered] = sink.messages;
  assert.ok(delivered);
  assert.equal(delivered.to.join(), "good@dest.test");
  assert.match(delivered.from, /^bounce\+[a-z2-7]+@bounces\.example\.com$/);
  const text = delivered.raw.toString("latin1");
  assert.doesNotMatch(text, /X-Mailhook-Api-Data/i);
  assert.doesNotMatch(text, /[^\r]\n/);
  assert.match(text, /^Received: from /);

  // Later, the destination bounces the delivered mail back to its return path (a DSN).
  const dsn = nodemailer.createTransport({ host: "127.0.0.1", port: h.relay.smtpPort, secure: false, ignoreTLS: true });
  await dsn.sendMail({
    envelope: { from: "", to: [delivered.from] },
    raw: [
      "From: MAILER-DAEMON@dest.test",
      `To: ${delivered.from}`,
      "Subject: Undelivered Mail Returned to Sender",
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain",
      "",
      "The mailbox is full.",
      "--b",
      "Content-Type: message/delivery-status",
      "",
      "Reporting-MTA: dns; dest.test",
      "",
      "Final-Recipient: rfc822; good@dest.test",
      "Action: failed",
      "Status: 5.2.2",
      "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full",
      "",
      "--b--",
      "",
    ].join("\r\n"),
  });
  dsn.close();
  const later = await waitForItems(receiver.requests, (i) => i.bounces.length >= 2);
  assert.equal(later.bounces[1]?.to, "good@dest.test");
  assert.equal(later.bounces[1]?.errorStatus, 5);

  // A vacation reply to the same return path is taken, but it is no bounce: no event.
  const reply = nodemailer.createTransport({ host: "127.0.0.1", port: h.relay.smtpPort, secure: false, ignoreTLS: true });
  await reply.sendMail({
    envelope: { from: "", to: [delivered.from] },
    raw: [`From: good@dest.test`, `To: ${delivered.from}`, "Subject: Out of office", "Auto-Submitted: auto-replied", "", "I am away until Monday.", ""].join("\r\n"),
  });
  reply.close();
  await new Promise((r) => setTimeout(r, 1500)); // longer than the batch interval
  assert.equal(itemsOf(receiver.requests).bounces.length, 2);
});

test("a destination that answers 450 first gets the mail later: deferred, then succeeded", async () => {
  let refusals = 1;
  const sink = await startSmtpSink({ rules: { rcptTo: () => (refusals-- > 0 ? { code: 450, message: "4.2.0 try again later" } : undefined) } });
  const receiver = await startHttpsReceiver();
  const h = await startRelay({
    submission: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"] },
    outbound: { routes: { "dest.test": `127.0.0.1:${sink.port}` }, retry: { firstDelaySeconds: 0.2, maxDelaySeconds: 1 } },
  });
  cleanups.push(() => sink.close(), () => receiver.close(), () => h.close());
  h.relay.applyWebhooks({ inbound: [], event: [eventWebhook(`${receiver.origin}/events`, { version: "1", contentType: "form" })] });

  const client = nodemailer.createTransport({ host: "127.0.0.1", port: h.relay.submissionPort, secure: false, ignoreTLS: true });
  await client.sendMail({ from: "shop@sender.test", to: "later@dest.test", subject: "retry", text: "x" });
  client.close();

  const items = await waitForItems(receiver.requests, (i) => i.deliveries.some((d) => d.status === "succeeded"));
  assert.deepEqual(items.deliveries.map((d) => d.status), ["queued", "deferred", "succeeded"]);
  // Version 1 names the envelope and has no apiData.
  assert.equal(items.deliveries[2]?.envelopeTo, "later@dest.test");
  assert.equal(items.deliveries[2] && "apiData" in items.deliveries[2], false);
  assert.equal(sink.messages.length, 1);
});

test("a relay source outside the allowed networks is refused and nothing is queued", async () => {
  const h = await startRelay({ submission: { listen: "127.0.0.1:0", allowedNetworks: ["10.0.0.0/8"] } });
  cleanups.push(() => h.close());
  const client = nodemailer.createTransport({ host: "127.0.0.1", port: h.relay.submissionPort, secure: false, ignoreTLS: true });
  await assert.rejects(client.sendMail({ from: "x@sender.test", to: "y@dest.test", subject: "no", text: "no" }), /550/);
  client.close();
  assert.match(await h.metric("mailhook_submission_refused_total"), /reason="sender_not_allowed"} 1/);
  assert.match(await h.metric("mailhook_outbound_queued_jobs"), / 0$/m);
});

test("a slow destination does not hold every worker slot: mail to another domain goes out meanwhile", async () => {
  const slow = await startSmtpSink({ rules: { data: () => new Promise((resolve) => setTimeout(() => resolve(undefined), 1500)) } });
  const fast = await startSmtpSink();
  const h = await startRelay({
    submission: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"] },
    outbound: {
      routes: { "slow.test": `127.0.0.1:${slow.port}`, "fast.test": `127.0.0.1:${fast.port}` },
      concurrency: 2,
      connections: { maxPerDestination: 1 },
      // A delivery behind the slow destination's one connection gives its slot up after this.
      timeouts: { connectSeconds: 0.3 },
    },
  });
  cleanups.push(() => slow.close(), () => fast.close(), () => h.close());
  h.relay.applyWebhooks({ inbound: [] });
  const client = nodemailer.createTransport({ host: "127.0.0.1", port: h.relay.submissionPort, secure: false, ignoreTLS: true });
  for (let i = 0; i < 4; i++) await client.sendMail({ from: "a@sender.test", to: `r${i}@slow.test`, subject: `slow ${i}`, text: "x" });
  await client.sendMail({ from: "a@sender.test", to: "r@fast.test", subject: "fast", text: "x" });
  client.close();
  const started = Date.now();
  while (fast.messages.length === 0) {
    if (Date.now() - started > 5000) throw new Error("mail to the fast destination waited behind the slow one");
    await new Promise((r) => setTimeout(r, 20));
  }
  // The slow destination still has its first mail in progress: the fast one did not wait for it.
  assert.equal(slow.messages.length, 0);
});

test("mail to a return path that names no job is refused at RCPT", async () => {
  const h = await startRelay({ outbound: { bounceDomain: "bounces.example.com" } });
  cleanups.push(() => h.close());
  h.relay.applyWebhooks({ inbound: [] });
  await assert.rejects(h.send({ envelope: { from: "", to: ["bounce+aaaaaaaaaaaaaaaaaaaaaaaaaa@bounces.example.com"] }, raw: "Subject: x\r\n\r\ny\r\n" }), /550/);
});

test("with suppression on, a recipient that hard-bounced is not sent to again: the next mail fails with status 10", async () => {
  let attempts = 0;
  const sink = await startSmtpSink({
    rules: {
      rcptTo: (address) => {
        attempts++;
        return address.toLowerCase().startsWith("gone@") ? { code: 550, message: "5.1.1 <gone@dest.test>: Recipient address rejected: User unknown" } : undefined;
      },
    },
  });
  const receiver = await startHttpsReceiver();
  const h = await startRelay({
    submission: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"] },
    outbound: { routes: { "dest.test": `127.0.0.1:${sink.port}` }, suppression: { enabled: true } },
  });
  cleanups.push(() => sink.close(), () => receiver.close(), () => h.close());
  h.relay.applyWebhooks({ inbound: [], event: [eventWebhook(`${receiver.origin}/events`)] });
  const client = nodemailer.createTransport({ host: "127.0.0.1", port: h.relay.submissionPort, secure: false, ignoreTLS: true });
  await client.sendMail({ from: "shop@sender.test", to: "gone@dest.test", subject: "first", text: "x" });
  await waitForItems(receiver.requests, (i) => i.bounces.length >= 1);
  await client.sendMail({ from: "shop@sender.test", to: "Gone@dest.test", subject: "second", text: "x" });
  client.close();
  const items = await waitForItems(receiver.requests, (i) => i.bounces.length >= 2);
  assert.deepEqual(items.bounces.map((b) => b.errorStatus), [2, 10]);
  assert.equal(attempts, 1, "the suppressed recipient was not offered to the destination again");
});
