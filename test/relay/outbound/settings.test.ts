import assert from "node:assert/strict";
import { hostname } from "node:os";
import { describe, test } from "node:test";
import { z } from "zod";
import { outboundSettings, parseHostPort } from "../../../relay/outbound/settings.ts";

const problems = (input: unknown) => {
  const result = outboundSettings.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("the outbound settings", () => {
  test("an empty block gives MX delivery with documented defaults", () => {
    assert.deepEqual(outboundSettings.parse({}), {
      smarthost: null,
      routes: {},
      dns: { servers: [], timeoutSeconds: 5, tries: 2 },
      allowNetworks: [],
      mxPort: 25,
      bounceDomain: null,
      suppression: { enabled: false, days: 30 },
      concurrency: 100,
      heloName: hostname(),
      tls: { mx: "opportunistic", caFile: null },
      timeouts: { connectSeconds: 30, greetingSeconds: 300, commandSeconds: 300, dataSeconds: 600 },
      connections: { maxPerDestination: 10, maxMessagesPerConnection: 100, idleSeconds: 5 },
      maxAddressesPerAttempt: 5,
      maxReceivedHeaders: 30,
      retry: { firstDelaySeconds: 300, maxDelaySeconds: 3600, maxAgeHours: 120 },
    });
  });

  test("the SPEC's example block parses", () => {
    const settings = outboundSettings.parse({ smarthost: null, routes: { "example.net": "10.1.2.3:25" }, dns: { servers: [] } });
    assert.deepEqual(settings.routes, { "example.net": { address: "10.1.2.3:25", tls: "opportunistic", auth: null } });
  });

  test("a next hop is host:port or an object with TLS policy and AUTH", () => {
    const settings = outboundSettings.parse({
      smarthost: { address: "smtp.example.net:587", tls: "verify", auth: { user: "relay", passwordFile: "/run/secrets/smtp/password" } },
      routes: { ".example.org": "[2001:db8::25]:2525", "example.com": "mx.example.com" },
    });
    assert.deepEqual(settings.smarthost, { address: "smtp.example.net:587", tls: "verify", auth: { user: "relay", passwordFile: "/run/secrets/smtp/password" } });
    assert.equal(settings.routes["example.com"]?.address, "mx.example.com");
  });

  test("AUTH without verified TLS is refused: the password would cross the network in clear", () => {
    assert.deepEqual(problems({ smarthost: { address: "smtp.example.net:25", auth: { user: "u", passwordFile: "/p" } } }), [
      "smarthost.auth: auth needs tls: verify or implicit, so the password never crosses the network in clear",
    ]);
  });

  test("bad addresses, domains and DNS servers are refused with the key that is wrong", () => {
    const found = problems({
      smarthost: "smtp.example.net:99999",
      routes: { "not a domain": "10.0.0.1:25", "example.org": "[not-v6]:25" },
      dns: { servers: ["10.96.0.10", "127.0.0.1:5353", "[::1]:53", "dns.example.net", "10.0.0.1:0"] },
    });
    assert.ok(found.some((p) => p.startsWith("smarthost")), found.join("\n"));
    assert.ok(found.some((p) => p.startsWith("routes.not a domain")), found.join("\n"));
    assert.ok(found.some((p) => p.startsWith("routes.example.org")), found.join("\n"));
    assert.ok(found.some((p) => p === "dns.servers.3: must be an IP address with an optional port, e.g. 10.96.0.10 or 127.0.0.1:5353"), found.join("\n"));
    assert.ok(found.some((p) => p.startsWith("dns.servers.4")), found.join("\n"));
    assert.ok(!found.some((p) => /dns\.servers\.[012]/.test(p)), found.join("\n"));
  });

  test("implicit TLS is not a policy for MX hosts (they listen on port 25)", () => {
    assert.equal(problems({ tls: { mx: "implicit" } }).length, 1);
  });

  test("the retry cap cannot be below the first delay", () => {
    assert.deepEqual(problems({ retry: { firstDelaySeconds: 600, maxDelaySeconds: 60 } }), ["retry.maxDelaySeconds: maxDelaySeconds must be at least firstDelaySeconds"]);
  });

  test("unknown keys are refused", () => {
    assert.equal(problems({ smarthosts: "x:25" }).length, 1);
  });

  test("fractional seconds are allowed (tests use them), zero and negative are not", () => {
    assert.equal(outboundSettings.parse({ timeouts: { greetingSeconds: 0.25 } }).timeouts.greetingSeconds, 0.25);
    assert.equal(problems({ timeouts: { connectSeconds: 0 } }).length, 1);
  });

  test("the schema turns into JSON Schema, as the docs generator needs", () => {
    assert.doesNotThrow(() => z.toJSONSchema(outboundSettings, { io: "input", unrepresentable: "any" }));
  });

  test("parseHostPort reads host, bracketed IPv6 and the default port", () => {
    assert.deepEqual(parseHostPort("smtp.example.net:587"), { host: "smtp.example.net", port: 587 });
    assert.deepEqual(parseHostPort("[2001:db8::1]:25"), { host: "2001:db8::1", port: 25 });
    assert.deepEqual(parseHostPort("10.1.2.3"), { host: "10.1.2.3", port: 25 });
    assert.throws(() => parseHostPort("a b:25"), /not host:port/);
  });
});
