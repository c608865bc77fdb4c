import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { OutboundDelivery, type DeliveryRequest } from "../../../relay/outbound/smtp-deliver.ts";
import { outboundSettings, type OutboundSettingsInput } from "../../../relay/outbound/settings.ts";
import { startDnsServer, type DnsServer } from "../../helpers/dns-server.ts";
import { startBrokenServer, startSmtpSink, type RawServer, type SmtpSink } from "../../helpers/smtp-sink.ts";

const trace = { helo: "client.test", remoteAddress: "192.0.2.9", protocol: "ESMTP", date: new Date(Date.UTC(2025, 5, 3, 10, 0, 0)) };

function request(to: string, body = "Subject: hello\n\nbody\n"): DeliveryRequest {
  return { from: "bounce+job1@relay.test", to, message: Buffer.from(`From: a@relay.test\nTo: ${to}\n${body}`), trace };
}

describe("delivering to real destination servers", () => {
  let dns: DnsServer;
  let sink: SmtpSink;
  let silent: RawServer;
  let dropping: RawServer;
  const deliveries: OutboundDelivery[] = [];

  /** A relay whose MX port is the sink's, on the test DNS server, with short timeouts. */
  function relay(input: OutboundSettingsInput = {}): OutboundDelivery {
    const settings = outboundSettings.parse({
      dns: { servers: [dns.address], timeoutSeconds: 0.5, tries: 1 },
      mxPort: sink.port,
      heloName: "relay.test",
      // The test's mail hosts are on loopback, which MX delivery refuses unless allowed.
      allowNetworks: ["127.0.0.0/8", "::1/128"],
      timeouts: { connectSeconds: 2, greetingSeconds: 0.5, commandSeconds: 2, dataSeconds: 2 },
      ...input,
    });
    const delivery = new OutboundDelivery(settings, { random: () => 0 });
    deliveries.push(delivery);
    return delivery;
  }

  before(async () => {
    sink = await startSmtpSink();
    silent = await startBrokenServer("silent");
    dropping = await startBrokenServer("drop-in-data");
    dns = await startDnsServer({
      "example.test": { MX: [{ preference: 10, exchange: "mx.example.test" }] },
      "mx.example.test": { A: ["127.0.0.1"] },
      // 127.0.0.2 is loopback too, but nothing listens there: connections are refused.
      "twomx.test": { MX: [{ preference: 10, exchange: "down.twomx.test" }, { preference: 20, exchange: "up.twomx.test" }] },
      "down.twomx.test": { A: ["127.0.0.2"] },
      "up.twomx.test": { A: ["127.0.0.1"] },
      "backup.test": { MX: [{ preference: 10, exchange: "mx.example.test" }, { preference: 20, exchange: "down.twomx.test" }] },
      "nomail.test": { MX: [{ preference: 0, exchange: "." }] },
    });
  });

  after(async () => {
    for (const delivery of deliveries) delivery.close();
    await Promise.all([sink.close(), silent.close(), dropping.close(), dns.close()]);
  });

  test("a mail answered 250 is delivered, found by MX, with the local address as senderIp", async () => {
    sink.rules = {};
    const before = sink.messages.length;
    const result = await relay().deliver(request("user@example.test"));
    assert.equal(result.kind, "delivered");
    if (result.kind !== "delivered") return;
    assert.equal(result.senderIp, "127.0.0.1");
    assert.match(result.response, /^250 /);
    assert.equal(result.host, `mx.example.test[127.0.0.1]:${sink.port}`);
    const mail = sink.messages[before]!;
    assert.deepEqual([mail.from, mail.to], ["bounce+job1@relay.test", ["user@example.test"]]);
  });

  test("a message with bare LF arrives with CRLF line endings and the relay's Received header on top", async () => {
    sink.rules = {};
    const before = sink.messages.length;
    const result = await relay().deliver(request("crlf@example.test", "Subject: lines\n\nline 1\nline 2\r\n.dot line\rlast\n"));
    assert.equal(result.kind, "delivered");
    assert.equal(
      sink.messages[before]!.raw.toString(),
      "Received: from client.test ([192.0.2.9])\r\n\tby relay.test with ESMTP;\r\n\tTue, 03 Jun 2025 10:00:00 +0000\r\n" +
        "From: a@relay.test\r\nTo: crlf@example.test\r\nSubject: lines\r\n\r\nline 1\r\nline 2\r\n.dot line\r\nlast\r\n",
    );
  });

  test("a null sender is sent as MAIL FROM:<>", async () => {
    sink.rules = {};
    const before = sink.messages.length;
    assert.equal((await relay().deliver({ ...request("user@example.test"), from: "" })).kind, "delivered");
    assert.equal(sink.messages[before]!.from, "");
  });

  test("a 450 to RCPT defers the mail with the server's reply and the host", async () => {
    sink.rules = { rcptTo: () => ({ code: 450, message: "4.2.0 Greylisted, try again later" }) };
    const result = await relay().deliver(request("grey@example.test"));
    assert.deepEqual(result, {
      kind: "deferred",
      reason: `mx.example.test[127.0.0.1]:${sink.port} said: 450 4.2.0 Greylisted, try again later`,
      response: "450 4.2.0 Greylisted, try again later",
      host: `mx.example.test[127.0.0.1]:${sink.port}`,
    });
  });

  test("a 550 to RCPT fails the mail as an unknown user (error status 2)", async () => {
    sink.rules = { rcptTo: () => ({ code: 550, message: "5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in local recipient table" }) };
    const result = await relay().deliver(request("nobody@example.test"));
    assert.equal(result.kind, "failed");
    if (result.kind !== "failed") return;
    assert.deepEqual(
      { reason: result.reason, errorStatus: result.errorStatus, replyCode: result.replyCode, enhancedStatus: result.enhancedStatus },
      { reason: "userunknown", errorStatus: 2, replyCode: 550, enhancedStatus: "5.1.1" },
    );
    assert.equal(result.response, "550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in local recipient table");
  });

  test("a 552 after DATA fails the mail as too large (error status 8)", async () => {
    sink.rules = { data: () => ({ code: 552, message: "5.3.4 Message size exceeds fixed limit" }) };
    const result = await relay().deliver(request("big@example.test"));
    assert.deepEqual(result.kind === "failed" && [result.reason, result.errorStatus, result.response], ["mesgtoobig", 8, "552 5.3.4 Message size exceeds fixed limit"]);
  });

  test("a 5xx from the first MX is final: the backup MX is not asked", async () => {
    sink.rules = { rcptTo: () => ({ code: 550, message: "5.1.1 User unknown" }) };
    const result = await relay().deliver(request("nobody@backup.test"));
    assert.equal(result.kind, "failed");
  });

  test("a refused connection moves on to the next MX host", async () => {
    sink.rules = {};
    const result = await relay().deliver(request("user@twomx.test"));
    assert.equal(result.kind, "delivered");
    assert.equal(result.kind === "delivered" && result.host, `up.twomx.test[127.0.0.1]:${sink.port}`);
  });

  test("when every host refuses the connection, the mail is deferred with the last host's error", async () => {
    const result = await relay({ routes: { "example.test": "127.0.0.2:2" } }).deliver(request("user@example.test"));
    assert.equal(result.kind, "deferred");
    assert.match(result.kind === "deferred" ? result.reason : "", /^\[127\.0\.0\.2\]:2: .*ECONNREFUSED/);
  });

  test("a connection dropped in the middle of DATA defers the mail", async () => {
    const result = await relay({ routes: { "example.test": `127.0.0.1:${dropping.port}` } }).deliver(request("user@example.test"));
    assert.equal(result.kind, "deferred");
    assert.match(result.kind === "deferred" ? result.reason : "", /closed|ECONNRESET|EPIPE/i);
  });

  test("a server that never greets defers the mail when the greeting timeout passes", async () => {
    const result = await relay({ routes: { "example.test": `127.0.0.1:${silent.port}` } }).deliver(request("user@example.test"));
    assert.equal(result.kind, "deferred");
    assert.match(result.kind === "deferred" ? result.reason : "", /greeting/i);
  });

  test("a server that never answers the final dot defers the mail when the data timeout passes", async () => {
    sink.rules = { data: () => sleep(1000).then(() => undefined) };
    const result = await relay({ timeouts: { connectSeconds: 2, greetingSeconds: 2, commandSeconds: 10, dataSeconds: 0.3 } }).deliver(request("slow@example.test"));
    sink.rules = {};
    assert.equal(result.kind, "deferred");
    assert.match(result.kind === "deferred" ? result.reason : "", /no final reply within 0\.3 s/);
  });

  test("a message larger than the server's SIZE fails without being sent", async () => {
    const small = await startSmtpSink({ size: 200 });
    try {
      const result = await relay({ routes: { "example.test": `127.0.0.1:${small.port}` } }).deliver(request("user@example.test", `Subject: big\n\n${"x".repeat(500)}\n`));
      assert.deepEqual(result.kind === "failed" && [result.reason, result.errorStatus], ["mesgtoobig", 8]);
      assert.equal(small.messages.length, 0);
    } finally {
      for (const delivery of deliveries.splice(-1)) delivery.close();
      await small.close();
    }
  });

  test("a mail with more than maxReceivedHeaders hops fails as a loop (error status 7) and is not sent", async () => {
    const before = sink.messages.length;
    const hops = Array.from({ length: 30 }, (_, i) => `Received: from hop${i}.test by hop${i + 1}.test\n`).join("");
    const result = await relay().deliver(request("loop@example.test", `${hops}Subject: loop\n\nbody\n`));
    assert.deepEqual(result.kind === "failed" && [result.reason, result.errorStatus, result.enhancedStatus], ["networkerror", 7, "5.4.6"]);
    assert.equal(sink.messages.length, before);
  });

  test("a domain with a null MX fails without a connection (error status 4)", async () => {
    const connections = sink.connections();
    const result = await relay().deliver(request("user@nomail.test"));
    assert.deepEqual(result.kind === "failed" && [result.reason, result.errorStatus], ["notaccept", 4]);
    assert.equal(sink.connections(), connections);
  });
});

describe("sessions shared between mails", () => {
  let dns: DnsServer;
  let sink: SmtpSink;
  const deliveries: OutboundDelivery[] = [];

  function relay(input: OutboundSettingsInput = {}): OutboundDelivery {
    const delivery = new OutboundDelivery(
      outboundSettings.parse({ dns: { servers: [dns.address], timeoutSeconds: 0.5, tries: 1 }, mxPort: sink.port, heloName: "relay.test", allowNetworks: ["127.0.0.0/8"], ...input }),
    );
    deliveries.push(delivery);
    return delivery;
  }

  before(async () => {
    sink = await startSmtpSink();
    dns = await startDnsServer({ "example.test": { MX: [{ preference: 10, exchange: "mx.example.test" }] }, "mx.example.test": { A: ["127.0.0.1"] } });
  });

  after(async () => {
    for (const delivery of deliveries) delivery.close();
    await Promise.all([sink.close(), dns.close()]);
  });

  test("several mails to one destination, one after another, go over one connection", async () => {
    const delivery = relay();
    const connections = sink.connections();
    const before = sink.messages.length;
    for (let i = 0; i < 5; i++) assert.equal((await delivery.deliver(request(`user${i}@example.test`))).kind, "delivered");
    assert.equal(sink.connections() - connections, 1);
    assert.equal(new Set(sink.messages.slice(before).map((m) => m.connection)).size, 1);
  });

  test("a refused recipient does not spoil the session: it is reset and reused", async () => {
    const delivery = relay();
    const connections = sink.connections();
    sink.rules = { rcptTo: (address) => (address.startsWith("nobody") ? { code: 550, message: "5.1.1 User unknown" } : undefined) };
    assert.equal((await delivery.deliver(request("nobody@example.test"))).kind, "failed");
    assert.equal((await delivery.deliver(request("user@example.test"))).kind, "delivered");
    sink.rules = {};
    assert.equal(sink.connections() - connections, 1);
  });

  test("a session is closed after maxMessagesPerConnection mails", async () => {
    const delivery = relay({ connections: { maxMessagesPerConnection: 2 } });
    const connections = sink.connections();
    for (let i = 0; i < 4; i++) assert.equal((await delivery.deliver(request(`user${i}@example.test`))).kind, "delivered");
    assert.equal(sink.connections() - connections, 2);
  });

  test("a kept session the server dropped unnoticed is replaced by a fresh one, and the mail goes through", async () => {
    const forgetful = await startBrokenServer("one-per-connection");
    try {
      const delivery = relay({ routes: { "example.test": `127.0.0.1:${forgetful.port}` } });
      for (let i = 0; i < 3; i++) assert.equal((await delivery.deliver(request(`user${i}@example.test`))).kind, "delivered");
      assert.deepEqual([forgetful.messages(), forgetful.connections()], [3, 3]);
    } finally {
      for (const delivery of deliveries.splice(-1)) delivery.close();
      await forgetful.close();
    }
  });

  test("concurrent mails to one destination never use more than maxPerDestination connections", async () => {
    const delivery = relay({ connections: { maxPerDestination: 2 } });
    const before = sink.messages.length;
    let inData = 0;
    let peakInData = 0;
    sink.rules = {
      data: async () => {
        inData++;
        peakInData = Math.max(peakInData, inData);
        await sleep(30);
        inData--;
        return undefined;
      },
    };
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => delivery.deliver(request(`c${i}@example.test`))));
    sink.rules = {};
    assert.deepEqual(new Set(results.map((r) => r.kind)), new Set(["delivered"]));
    const used = new Set(sink.messages.slice(before).map((m) => m.connection));
    assert.equal(used.size, 2);
    assert.ok(peakInData <= 2, `${peakInData} messages were in DATA at once`);
  });

  test("after close, a new delivery is deferred and idle sessions are gone", async () => {
    const delivery = relay();
    assert.equal((await delivery.deliver(request("user@example.test"))).kind, "delivered");
    delivery.close();
    assert.deepEqual(await delivery.deliver(request("user@example.test")), { kind: "deferred", reason: "the relay is shutting down" });
  });
});
