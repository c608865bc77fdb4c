import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { OutboundDelivery, type DeliveryRequest } from "../../../relay/outbound/smtp-deliver.ts";
import { outboundSettings, type OutboundSettingsInput } from "../../../relay/outbound/settings.ts";
import { startBrokenServer, startSmtpSink, type RawServer, type SmtpSink } from "../../helpers/smtp-sink.ts";
import { testCaFile } from "../../helpers/tls-fixtures.ts";

const request: DeliveryRequest = { from: "bounce@relay.test", to: "user@example.test", message: Buffer.from("Subject: tls\r\n\r\nbody\r\n"), trace: null };

describe("TLS and AUTH towards destination servers", () => {
  let starttls: SmtpSink;
  let implicit: SmtpSink;
  let plain: SmtpSink;
  let authenticated: SmtpSink;
  let badTls: RawServer;
  let dir: string;
  const deliveries: OutboundDelivery[] = [];

  /** Every mail for example.test goes to `route` (an IP address: the certificate names 127.0.0.1). */
  function deliver(route: OutboundSettingsInput["smarthost"], extra: OutboundSettingsInput = {}) {
    const delivery = new OutboundDelivery(
      outboundSettings.parse({ smarthost: route, heloName: "relay.test", timeouts: { greetingSeconds: 2, connectSeconds: 2 }, ...extra }),
    );
    deliveries.push(delivery);
    return delivery.deliver(request);
  }

  before(async () => {
    [starttls, implicit, plain, authenticated] = await Promise.all([
      startSmtpSink({ tls: "starttls" }),
      startSmtpSink({ tls: "implicit" }),
      startSmtpSink(),
      startSmtpSink({ tls: "starttls", auth: { user: "mailhook", pass: "s3cret" } }),
    ]);
    badTls = await startBrokenServer("bad-tls");
    dir = await mkdtemp(join(tmpdir(), "mailhook-outbound-"));
  });

  after(async () => {
    for (const delivery of deliveries) delivery.close();
    await Promise.all([starttls.close(), implicit.close(), plain.close(), authenticated.close(), badTls.close(), rm(dir, { recursive: true, force: true })]);
  });

  test("opportunistic: STARTTLS is used when offered, even with a certificate from an unknown CA", async () => {
    const result = await deliver(`127.0.0.1:${starttls.port}`);
    assert.equal(result.kind, "delivered");
    assert.equal(starttls.messages.at(-1)?.secure, true);
  });

  test("opportunistic: a server without STARTTLS gets the mail in plain text", async () => {
    const result = await deliver(`127.0.0.1:${plain.port}`);
    assert.equal(result.kind, "delivered");
    assert.equal(plain.messages.at(-1)?.secure, false);
  });

  test("opportunistic: a failed TLS handshake is retried once in plain text", async () => {
    const result = await deliver(`127.0.0.1:${badTls.port}`);
    assert.equal(result.kind, "delivered");
    assert.equal(badTls.messages(), 1);
  });

  test("verify: a failed TLS handshake defers the mail, never falling back to plain text", async () => {
    const result = await deliver({ address: `127.0.0.1:${badTls.port}`, tls: "verify" }, { tls: { caFile: testCaFile } });
    assert.equal(result.kind, "deferred");
    assert.equal(badTls.messages(), 1);
  });

  test("none: STARTTLS is not used even when offered", async () => {
    const before = starttls.messages.length;
    const result = await deliver({ address: `127.0.0.1:${starttls.port}`, tls: "none" });
    assert.equal(result.kind, "delivered");
    assert.equal(starttls.messages[before]?.secure, false);
  });

  test("verify: a certificate from a trusted CA naming the host is accepted", async () => {
    const result = await deliver({ address: `127.0.0.1:${starttls.port}`, tls: "verify" }, { tls: { caFile: testCaFile } });
    assert.equal(result.kind, "delivered");
    assert.equal(starttls.messages.at(-1)?.secure, true);
  });

  test("verify: an untrusted certificate defers the mail", async () => {
    const before = starttls.messages.length;
    const result = await deliver({ address: `127.0.0.1:${starttls.port}`, tls: "verify" });
    assert.equal(result.kind, "deferred");
    assert.match(result.kind === "deferred" ? result.reason : "", /TLS handshake failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
    assert.equal(starttls.messages.length, before);
  });

  test("verify: a server without STARTTLS gets nothing and the mail is deferred", async () => {
    const before = plain.messages.length;
    const result = await deliver({ address: `127.0.0.1:${plain.port}`, tls: "verify" }, { tls: { caFile: testCaFile } });
    assert.equal(result.kind, "deferred");
    assert.equal(plain.messages.length, before);
  });

  test("verify applies to MX hosts too when tls.mx says so", async () => {
    const delivery = new OutboundDelivery(
      outboundSettings.parse({ heloName: "relay.test", mxPort: starttls.port, allowNetworks: ["127.0.0.0/8"], tls: { mx: "verify", caFile: testCaFile }, timeouts: { greetingSeconds: 2 } }),
    );
    deliveries.push(delivery);
    const result = await delivery.deliver({ ...request, to: "user@[127.0.0.1]" });
    assert.equal(result.kind, "delivered");
    assert.equal(starttls.messages.at(-1)?.secure, true);
  });

  test("implicit: TLS from the first byte, certificate checked", async () => {
    const result = await deliver({ address: `127.0.0.1:${implicit.port}`, tls: "implicit" }, { tls: { caFile: testCaFile } });
    assert.equal(result.kind, "delivered");
    assert.equal(implicit.messages.at(-1)?.secure, true);
  });

  test("a smarthost with AUTH logs in over verified TLS, the password read from its file", async () => {
    const passwordFile = join(dir, "password");
    await writeFile(passwordFile, "s3cret\n");
    const result = await deliver({ address: `127.0.0.1:${authenticated.port}`, tls: "verify", auth: { user: "mailhook", passwordFile } }, { tls: { caFile: testCaFile } });
    assert.equal(result.kind, "delivered");
    assert.equal(authenticated.messages.at(-1)?.user, "mailhook");
  });

  test("refused credentials defer the mail (a configuration problem), and the password appears nowhere", async () => {
    const passwordFile = join(dir, "wrong");
    await writeFile(passwordFile, "wrong-password");
    const result = await deliver({ address: `127.0.0.1:${authenticated.port}`, tls: "verify", auth: { user: "mailhook", passwordFile } }, { tls: { caFile: testCaFile } });
    assert.equal(result.kind, "deferred");
    assert.match(result.kind === "deferred" ? result.reason : "", /535/);
    assert.ok(!JSON.stringify(result).includes("wrong-password"));
  });

  test("a missing password file defers the mail", async () => {
    const result = await deliver(
      { address: `127.0.0.1:${authenticated.port}`, tls: "verify", auth: { user: "mailhook", passwordFile: join(dir, "missing") } },
      { tls: { caFile: testCaFile } },
    );
    assert.equal(result.kind, "deferred");
    assert.match(result.kind === "deferred" ? result.reason : "", /cannot read the AUTH password file .*ENOENT/);
  });
});
