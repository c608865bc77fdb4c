// The relay's HTTP probes and metrics, as Kubernetes and Prometheus see them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { inboundWebhook, startRelay } from "../helpers/relay-harness.ts";

test("readyz waits for a webhook configuration; healthz and metrics answer from the start", async (t) => {
  const h = await startRelay();
  t.after(() => h.close());
  const base = `http://127.0.0.1:${h.relay.metricsPort}`;

  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const notReady = await fetch(`${base}/readyz`);
  assert.equal(notReady.status, 503);
  assert.match(await notReady.text(), /no webhook configuration/);

  h.relay.applyWebhooks({ inbound: [inboundWebhook("a", "https://127.0.0.1:1/a")] });
  assert.equal((await fetch(`${base}/readyz`)).status, 200);

  const metrics = await fetch(`${base}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
  const text = await metrics.text();
  for (const name of ["mailhook_inbound_mails_received_total", "mailhook_inbound_posts_total", "mailhook_webhooks_active 1", "mailhook_process_"]) {
    assert.ok(text.includes(name), `${name} is exported`);
  }
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: "POST" })).status, 405);
});

test("status shows each webhook's waiting deliveries and delivery facts, and no Secret value", async (t) => {
  const { startHttpsReceiver } = await import("../helpers/https-receiver.ts");
  const receiver = await startHttpsReceiver({ responder: (_req, res) => res.writeHead(503).end() });
  const h = await startRelay();
  t.after(async () => {
    await h.close();
    await receiver.close();
  });
  h.relay.applyWebhooks({
    inbound: [inboundWebhook("a", `${receiver.origin}/a`, { auth: { apiKey: "very-secret-key", basic: { username: "u", password: "hunter2" } } })],
  });
  await h.send({ to: "x@example.com", subject: "waits", text: "x" });
  await receiver.waitForRequests(1);

  const res = await fetch(`http://127.0.0.1:${h.relay.metricsPort}/status`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const status = JSON.parse(text) as { inbound: Record<string, { pending: number; configured: boolean }> };
  assert.deepEqual({ pending: status.inbound["default/a"]?.pending, configured: status.inbound["default/a"]?.configured }, { pending: 1, configured: true });
  assert.doesNotMatch(text, /very-secret-key|hunter2/);
});

test("before its first webhook configuration the relay refuses mail temporarily, never with a 550", async (t) => {
  const h = await startRelay();
  t.after(() => h.close());
  await assert.rejects(h.send({ to: "x@example.com", subject: "too early", text: "x" }), (err: { responseCode?: number; response?: string }) => {
    assert.equal(err.responseCode, 451);
    assert.match(String(err.response), /4\.3\.0 not ready/);
    return true;
  });
});
