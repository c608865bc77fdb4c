// The inbound flow end to end, in process: a nodemailer client → the relay's SMTP listener → spool →
// delivery worker → a real HTTPS receiver with the test CA.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { binaryBytes } from "../helpers/sample-mail.ts";
import { startHttpsReceiver, type HttpsReceiver } from "../helpers/https-receiver.ts";
import { formFields, inboundWebhook, startRelay, type RelayHarness } from "../helpers/relay-harness.ts";

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(settings: Parameters<typeof startRelay>[0] = {}, options: Parameters<typeof startRelay>[1] = {}): Promise<{ h: RelayHarness; rx: HttpsReceiver }> {
  const rx = await startHttpsReceiver();
  const h = await startRelay(settings, options);
  cleanups.push(() => rx.close(), () => h.close());
  return { h, rx };
}

function smtpError(err: unknown): { responseCode?: number; response?: string } {
  return err as { responseCode?: number; response?: string };
}

describe("posting matched mail", () => {
  for (const postingThread of [true, false]) {
    test(`a mail is posted as multipart with the seed's fields, Basic auth, api_key and a verifiable signature (posts ${postingThread ? "on their own thread" : "in the event loop"})`, async () => {
      const { h, rx } = await setup({ endpoints: { postingThread } });
      const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
      h.relay.applyWebhooks({
        inbound: [
          inboundWebhook("orders", `${rx.origin}/hook`, {
            auth: { basic: { username: "u", password: "p@ss" }, apiKey: "k-123", signingSecrets: [secret] },
          }),
        ],
      });
      const attachment = binaryBytes();
      const answer = await h.send({
        from: "Bob <bob@sender.test>",
        to: "orders@example.com",
        subject: "Invoice ✓",
        text: "plain body",
        html: "<p>html body</p>",
        attachments: [{ filename: "data.bin", content: attachment, contentType: "application/octet-stream" }],
      });
      assert.match(answer, /^250 2\.0\.0 queued as /);

      const [req] = await rx.waitForRequests(1);
      assert.ok(req);
      assert.equal(req.headers.authorization, `Basic ${Buffer.from("u:p@ss").toString("base64")}`);
      const form = await formFields(req.body, String(req.headers["content-type"]));
      assert.equal(form.get("api_key"), "k-123");
      assert.equal(form.get("server_composition"), "test");
      assert.equal(form.get("filter"), "orders");
      assert.equal(form.get("subject"), "Invoice ✓");
      assert.equal(form.get("text"), "plain body");
      assert.equal(form.get("html"), "<p>html body</p>");
      assert.equal(form.get("envelope-from"), "bob@sender.test");
      assert.equal(form.get("envelope-to"), "orders@example.com");
      assert.equal(form.get("attachments"), "1");
      const headers = JSON.parse(form.get("headers") as string) as { name: string; value: string }[];
      assert.deepEqual(headers.find((x) => x.name === "From"), { name: "From", value: "Bob <bob@sender.test>" });
      const file = form.get("attachment1") as File;
      assert.equal(file.name, "data.bin");
      assert.deepEqual(Buffer.from(await file.arrayBuffer()), attachment);

      // The receiver's check: HMAC-SHA256 over id.timestamp.raw-body with the decoded secret.
      const id = String(req.headers["webhook-id"]);
      const ts = String(req.headers["webhook-timestamp"]);
      const expected = createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.`).update(req.body).digest("base64");
      assert.equal(req.headers["webhook-signature"], `v1,${expected}`);
      assert.match(id, /^msg_/);
    });
  }

  test("a json webhook gets one JSON object with the same fields", async () => {
    const { h, rx } = await setup();
    h.relay.applyWebhooks({ inbound: [inboundWebhook("j", `${rx.origin}/j`, { contentType: "json" })] });
    await h.send({ to: "x@example.com", subject: "json please", text: "hi" });
    const [req] = await rx.waitForRequests(1);
    assert.match(String(req?.headers["content-type"]), /^application\/json/);
    const body = JSON.parse(req!.body.toString("utf8")) as Record<string, unknown>;
    assert.equal(body.subject, "json please");
    assert.equal(body["envelope-to"], "x@example.com");
    assert.equal(body.attachments, 0);
    assert.equal("api_key" in body, false);
  });

  test("conditions are ANDed, header names match in any case, and To means the envelope recipient", async () => {
    const { h, rx } = await setup();
    h.relay.applyWebhooks({
      inbound: [
        inboundWebhook("billing", `${rx.origin}/b`, {
          conditions: [
            { header: "To", pattern: "^billing@example\\.com$" },
            { header: "sUbJeCt", pattern: "^Invoice" },
          ],
        }),
      ],
    });
    // The header To names billing@, the envelope does not: refused at RCPT.
    await assert.rejects(h.send({ to: "billing@example.com", envelope: { from: "a@sender.test", to: ["other@example.com"] }, subject: "Invoice 1" }), (err) => {
      assert.equal(smtpError(err).responseCode, 550);
      return true;
    });
    // Envelope matches, subject does not: refused after DATA, nothing accepted.
    await assert.rejects(h.send({ to: "billing@example.com", subject: "Hello" }), (err) => {
      assert.match(String(smtpError(err).response), /^550 5\.1\.1/);
      return true;
    });
    // Envelope and subject match although the header To names someone else.
    await h.send({ to: "someone@else.test", envelope: { from: "a@sender.test", to: ["billing@example.com"] }, subject: "Invoice 2" });
    const [req] = await rx.waitForRequests(1);
    const form = await formFields(req!.body, String(req!.headers["content-type"]));
    assert.equal(form.get("envelope-to"), "billing@example.com");
    assert.equal(form.get("subject"), "Invoice 2");
    await sleep(200);
    assert.equal(rx.requests.length, 1);
    assert.match(await h.metric("mailhook_inbound_mails_refused_total"), /reason="no_webhook"} 2/);
  });

  test("a mail matching two webhooks goes to each, once per matching recipient, each with its own id", async () => {
    const { h, rx } = await setup();
    h.relay.applyWebhooks({
      inbound: [inboundWebhook("a", `${rx.origin}/a`), inboundWebhook("b", `${rx.origin}/b`, { conditions: [{ header: "To", pattern: "^one@" }] })],
    });
    await h.send({ to: ["one@example.com", "two@example.com"], subject: "fan-out" });
    const requests = await rx.waitForRequests(3);
    await sleep(200);
    assert.equal(rx.requests.length, 3);
    const seen = await Promise.all(
      requests.map(async (r) => `${r.url} ${(await formFields(r.body, String(r.headers["content-type"]))).get("envelope-to") as string}`),
    );
    assert.deepEqual(seen.sort(), ["/a one@example.com", "/a two@example.com", "/b one@example.com"]);
    assert.equal(new Set(requests.map((r) => r.headers["webhook-id"])).size, 3);
  });

  test("mail for an accepted domain that no webhook matches is refused and nothing is posted", async () => {
    const { h, rx } = await setup();
    h.relay.applyWebhooks({ inbound: [inboundWebhook("a", `${rx.origin}/a`, { conditions: [{ header: "From", pattern: "^vip@" }] })] });
    await assert.rejects(h.send({ to: "x@example.com", subject: "nobody wants me" }), (err) => {
      assert.equal(smtpError(err).responseCode, 550);
      return true;
    });
    await assert.rejects(h.send({ to: "x@elsewhere.test", subject: "not our domain" }), (err) => {
      assert.match(String(smtpError(err).response), /^550 5\.7\.1 relaying denied/);
      return true;
    });
    await sleep(200);
    assert.equal(rx.requests.length, 0);
    assert.match(await h.metric("mailhook_inbound_mails_received_total"), / 0$/m);
  });

  test("an oversize mail is refused and nothing is posted", async () => {
    const { h, rx } = await setup({ inbound: { maxMessageBytes: 4096 } });
    h.relay.applyWebhooks({ inbound: [inboundWebhook("a", `${rx.origin}/a`)] });
    await assert.rejects(h.send({ to: "x@example.com", subject: "big", text: "x".repeat(10_000) }), (err) => {
      assert.equal(smtpError(err).responseCode, 552);
      return true;
    });
    await sleep(200);
    assert.equal(rx.requests.length, 0);
  });
});

describe("retries and outcomes", () => {
  test("an endpoint that is down, then up, gets the mail on the next interval with the same webhook-id", async () => {
    const { h, rx } = await setup();
    rx.respondWith((_req, res) => res.writeHead(503).end());
    h.relay.applyWebhooks({ inbound: [inboundWebhook("a", `${rx.origin}/a`)] });
    await h.send({ to: "x@example.com", subject: "retry me" });
    const [first] = await rx.waitForRequests(1);
    rx.respondWith((_req, res) => res.writeHead(204).end());
    const [, second] = await rx.waitForRequests(2);
    assert.equal(second?.headers["webhook-id"], first?.headers["webhook-id"]);
    await waitFor(async () => sumOf(await h.metric("mailhook_inbound_posts_total"), 'outcome="success"') === 1);
    assert.equal(sumOf(await h.metric("mailhook_inbound_posts_total"), 'outcome="retry"'), 1);
  });

  test("a delivery still failing when the retry period ends is given up and counted", async () => {
    let offset = 0;
    const { h, rx } = await setup({}, { now: () => Date.now() + offset });
    rx.respondWith((_req, res) => res.writeHead(500).end());
    const set = { inbound: [inboundWebhook("a", `${rx.origin}/a`, { retry: { intervalSeconds: 10, periodDays: 1 } })] };
    h.relay.applyWebhooks(set);
    await h.send({ to: "x@example.com", subject: "doomed" });
    await rx.waitForRequests(1);
    await waitFor(async () => /outcome="retry"} 1/.test(await h.metric("mailhook_inbound_posts_total")));
    offset = 2 * 86_400_000;
    h.relay.applyWebhooks(set); // a reload wakes the worker, which now sees the job due
    await rx.waitForRequests(2);
    await waitFor(async () => /reason="period_exceeded"} 1/.test(await h.metric("mailhook_inbound_gave_up_total")));
    assert.match(await h.metric("mailhook_inbound_pending_jobs"), /^(?!.*webhook=)/s);
  });

  test("an endpoint that keeps failing is probed by one post at a time, and the mail held meanwhile follows its recovery", async () => {
    // 4 posts in flight per webhook: taken to be down after 5 failures in a row.
    const { h, rx } = await setup({ endpoints: { maxConnectionsPerOrigin: 4 } });
    rx.respondWith((_req, res) => res.writeHead(503).end());
    h.relay.applyWebhooks({ inbound: [inboundWebhook("a", `${rx.origin}/a`)] }); // retry every 1 s
    for (let i = 0; i < 12; i++) await h.send({ to: "x@example.com", subject: `held ${i}` });
    await sleep(3500);
    // Retrying each mail every second would have made 12 posts and about 36 retries by now; after
    // 5 failures in a row the endpoint is taken to be down and probed once a second.
    assert.ok(rx.requests.length <= 14, `${rx.requests.length} posts to an endpoint that is down`);
    assert.match(await h.metric("mailhook_inbound_pending_jobs"), /webhook="default\/a"} 12/);
    rx.respondWith((_req, res) => res.writeHead(204).end());
    await waitFor(async () => sumOf(await h.metric("mailhook_inbound_posts_total"), 'outcome="success"') === 12);
    const ids = new Set(rx.requests.map((r) => r.headers["webhook-id"]));
    assert.equal(ids.size, 12);
  });

  test("held mail whose retry period ends is given up, all of it, not one probe at a time", async () => {
    let offset = 0;
    const { h, rx } = await setup({ endpoints: { maxConnectionsPerOrigin: 4 } }, { now: () => Date.now() + offset });
    rx.respondWith((_req, res) => res.writeHead(500).end());
    const set = { inbound: [inboundWebhook("a", `${rx.origin}/a`, { retry: { intervalSeconds: 600, periodDays: 1 } })] };
    h.relay.applyWebhooks(set);
    for (let i = 0; i < 8; i++) await h.send({ to: "x@example.com", subject: `doomed ${i}` });
    // 5 failures in a row hold the webhook (a post or two may have started before the fifth failed).
    await waitFor(async () => sumOf(await h.metric("mailhook_inbound_posts_total"), 'outcome="retry"') >= 5);
    offset = 2 * 86_400_000;
    // A reload wakes the worker: the hold is over, one post probes. (No second probe within the test: the
    // interval is 10 minutes.)
    h.relay.applyWebhooks(set);
    await waitFor(async () => /reason="period_exceeded"} 8/.test(await h.metric("mailhook_inbound_gave_up_total")));
    assert.match(await h.metric("mailhook_inbound_pending_jobs"), /^(?!.*webhook=)/s);
    // One post per mail at most before the hold, and one probe after it.
    assert.ok(rx.requests.length <= 9, `${rx.requests.length} posts`);
  });

  test("mail waiting in memory for a slot when its endpoint is taken to be down is held in the spool like the rest", async () => {
    let offset = 0;
    // One post in flight per webhook, each answered late: the mails behind it wait in the worker's memory.
    const { h, rx } = await setup({ endpoints: { maxConnectionsPerOrigin: 1 } }, { now: () => Date.now() + offset });
    rx.respondWith((_req, res) => void sleep(150).then(() => res.writeHead(503).end()));
    const set = { inbound: [inboundWebhook("a", `${rx.origin}/a`, { retry: { intervalSeconds: 600, periodDays: 1 } })] };
    h.relay.applyWebhooks(set);
    for (let i = 0; i < 10; i++) await h.send({ to: "x@example.com", subject: `queued ${i}` });
    await waitFor(async () => sumOf(await h.metric("mailhook_inbound_posts_total"), 'outcome="retry"') >= 5);
    // Past every mail's retry period: one probe fails, and every mail is given up, none left leased in memory.
    offset = 2 * 86_400_000;
    h.relay.applyWebhooks(set);
    await waitFor(async () => /reason="period_exceeded"} 10/.test(await h.metric("mailhook_inbound_gave_up_total")));
    assert.match(await h.metric("mailhook_inbound_pending_jobs"), /^(?!.*webhook=)/s);
  });

  test("410 Gone stops retrying that post at once", async () => {
    const { h, rx } = await setup();
    rx.respondWith((_req, res) => res.writeHead(410).end());
    h.relay.applyWebhooks({ inbound: [inboundWebhook("a", `${rx.origin}/a`)] });
    await h.send({ to: "x@example.com", subject: "gone" });
    await rx.waitForRequests(1);
    await waitFor(async () => /reason="gone"} 1/.test(await h.metric("mailhook_inbound_gave_up_total")));
    await sleep(1500); // longer than the retry interval
    assert.equal(rx.requests.length, 1);
  });

  test("a suspended webhook holds its queued deliveries and posts them when resumed", async () => {
    const { h, rx } = await setup();
    rx.respondWith((_req, res) => res.writeHead(503).end());
    const hook = inboundWebhook("a", `${rx.origin}/a`);
    h.relay.applyWebhooks({ inbound: [hook] });
    await h.send({ to: "x@example.com", subject: "held" });
    await rx.waitForRequests(1);
    h.relay.applyWebhooks({ inbound: [{ ...hook, suspended: true }] });
    rx.respondWith((_req, res) => res.writeHead(200).end());
    // New mail for a suspended webhook is refused temporarily (the sender keeps it).
    await assert.rejects(h.send({ to: "y@example.com", subject: "later" }), (err) => {
      assert.equal(smtpError(err).responseCode, 450);
      return true;
    });
    await sleep(1500);
    assert.equal(rx.requests.length, 1);
    assert.match(await h.metric("mailhook_inbound_pending_jobs"), /webhook="default\/a"} 1/);
    h.relay.applyWebhooks({ inbound: [hook] });
    const [, resumed] = await rx.waitForRequests(2);
    assert.equal(resumed?.headers["webhook-id"], rx.requests[0]?.headers["webhook-id"]);
  });

  test("an endpoint on a private address is refused unless allowNetworks lists it; the mail waits", async () => {
    const { h, rx } = await setup({ endpoints: { allowNetworks: [] } });
    h.relay.applyWebhooks({ inbound: [inboundWebhook("a", `${rx.origin}/a`)] });
    await h.send({ to: "x@example.com", subject: "ssrf" });
    await waitFor(async () => /outcome="retry"} [1-9]/.test(await h.metric("mailhook_inbound_posts_total")));
    assert.equal(rx.connections(), 0);
    assert.match(await h.metric("mailhook_inbound_pending_jobs"), /webhook="default\/a"} 1/);
    // The waiting mail's bytes are in the one segment being written.
    assert.match(await h.metric("mailhook_spool_body_segments"), /^mailhook_spool_body_segments 1$/m);
  });
});

describe("hostile input", () => {
  test("malformed MIME is delivered as parsed as possible, and the relay keeps working", async () => {
    const { h, rx } = await setup();
    h.relay.applyWebhooks({ inbound: [inboundWebhook("a", `${rx.origin}/a`)] });
    const raw = Buffer.concat([
      Buffer.from(
        "From: =?utf-8?B?broken\r\nSubject: =?x-unknown?Q?what?=\r\nContent-Type: multipart/mixed; boundary=\"never-closed\"\r\n" +
          "X-Junk: \xff\xfe\r\nNoColonHeaderLine\r\n\r\n--never-closed\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
          "!!!not base64!!!\r\n--never-closed\r\nContent-Type: message/rfc822\r\n\r\nnested without headers",
        "latin1",
      ),
      Buffer.from([0, 1, 2, 255, 13, 10]),
    ]);
    await h.send({ envelope: { from: "a@sender.test", to: ["x@example.com"] }, raw });
    await h.send({ to: "x@example.com", subject: "after the storm" });
    const requests = await rx.waitForRequests(2);
    const subjects = await Promise.all(requests.map(async (r) => (await formFields(r.body, String(r.headers["content-type"]))).get("subject") as string));
    assert.ok(subjects.includes("after the storm"));
  });

  test("a hostile pattern against a huge header finishes, and mail keeps flowing", async () => {
    const { h, rx } = await setup();
    h.relay.applyWebhooks({
      inbound: [inboundWebhook("a", `${rx.origin}/a`, { conditions: [{ header: "To", pattern: "@example" }, { header: "X-Evil", pattern: "^(a+)+$" }] })],
    });
    await h.send({ to: "x@example.com", subject: "evil", headers: { "X-Evil": "a".repeat(60_000) + "!" } }).catch(() => "refused");
    await h.send({ to: "x@example.com", subject: "fine", headers: { "X-Evil": "aaaa" } });
    await rx.waitForRequests(1);
    assert.equal(rx.requests.length, 1);
  });
});

describe("reloads", () => {
  test("applying a new configuration keeps an open SMTP session and queued mail", async () => {
    const { h, rx } = await setup();
    rx.respondWith((_req, res) => res.writeHead(503).end());
    h.relay.applyWebhooks({ inbound: [inboundWebhook("a", `${rx.origin}/a`)] });
    const nodemailer = (await import("nodemailer")).default;
    const pooled = nodemailer.createTransport({ host: "127.0.0.1", port: h.relay.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 1 });
    cleanups.push(() => Promise.resolve(pooled.close()));
    await pooled.sendMail({ from: "a@sender.test", to: "x@example.com", subject: "before" });
    h.relay.applyWebhooks({ inbound: [inboundWebhook("a", `${rx.origin}/a`), inboundWebhook("b", `${rx.origin}/b`)] });
    await pooled.sendMail({ from: "a@sender.test", to: "x@example.com", subject: "after" });
    rx.respondWith((_req, res) => res.writeHead(200).end());
    await waitFor(async () => sumOf(await h.metric("mailhook_inbound_posts_total"), 'outcome="success"') === 3);
    assert.equal(sumOf(await h.metric("mailhook_inbound_jobs_created_total"), 'webhook="default/b"'), 1);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(25);
  }
}

/** The sum of a metric's samples whose labels contain `labels`. */
function sumOf(exposition: string, labels: string): number {
  return exposition
    .split("\n")
    .filter((line) => !line.startsWith("#") && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}
