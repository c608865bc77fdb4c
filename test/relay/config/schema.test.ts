import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { parseListen, relaySettings } from "../../../relay/config/schema.ts";

test("an empty relay.yaml gets the documented defaults", () => {
  const s = relaySettings.parse({});
  assert.equal(s.serverComposition, "default");
  assert.equal(s.inbound.listen, "0.0.0.0:2525");
  assert.equal(s.inbound.maxMessageBytes, 26_214_400);
  assert.equal(s.spool.dir, "/var/lib/mailhook");
  assert.equal(s.metrics.listen, "0.0.0.0:9464");
  assert.deepEqual(s.endpoints.allowNetworks, []);
  assert.equal(s.endpoints.postingThread, "auto");
});

test("invalid settings are reported with the exact key", () => {
  const r = relaySettings.safeParse({ inbound: { listen: "nope", bogus: 1 }, endpoints: { allowNetworks: ["10.0.0.0/33"], postingThread: "yes" } });
  assert.equal(r.success, false);
  const msg = z.prettifyError(r.error);
  assert.match(msg, /Unrecognized key: "bogus"[\s\S]*at inbound/);
  assert.match(msg, /at inbound\.listen/);
  assert.match(msg, /at endpoints\.allowNetworks\[0\]/);
  assert.match(msg, /at endpoints\.postingThread/);
});

test("accepted domains are compared lower-case", () => {
  assert.deepEqual(relaySettings.parse({ inbound: { domains: ["Example.COM"] } }).inbound.domains, ["example.com"]);
});

test("listen addresses parse for IPv4, IPv6 and a bare port", () => {
  assert.deepEqual(parseListen("127.0.0.1:2525"), { host: "127.0.0.1", port: 2525 });
  assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
  assert.deepEqual(parseListen(":9464"), { host: "0.0.0.0", port: 9464 });
});
