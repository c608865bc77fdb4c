import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileRoutes, planRoute, recipientDomain } from "../../../relay/outbound/route.ts";
import { outboundSettings, type OutboundSettingsInput } from "../../../relay/outbound/settings.ts";

const table = (input: OutboundSettingsInput) => compileRoutes(outboundSettings.parse(input));

describe("the recipient's domain", () => {
  test("is lower case ASCII, with IDNA for international names", () => {
    assert.deepEqual(recipientDomain("User@Example.ORG"), { domain: "example.org" });
    assert.deepEqual(recipientDomain("ユーザー@Bücher.example"), { domain: "xn--bcher-kva.example" });
    assert.deepEqual(recipientDomain("a@example.org."), { domain: "example.org" });
  });

  test("the last @ separates it, so a quoted local part may hold one", () => {
    assert.deepEqual(recipientDomain('"a@b"@example.org'), { domain: "example.org" });
  });

  test("address literals are kept with their brackets", () => {
    assert.deepEqual(recipientDomain("a@[192.0.2.1]"), { domain: "[192.0.2.1]" });
    assert.deepEqual(recipientDomain("a@[IPv6:2001:db8::1]"), { domain: "[ipv6:2001:db8::1]" });
  });

  test("malformed addresses are problems, not lookups", () => {
    for (const bad of ["no-at-sign", "@example.org", "user@", "user@exa mple.org", "user@-bad-.org", "user@[300.1.1.1]", "user@[IPv6:zz::1]", "a\r\n@example.org", `a@${"x".repeat(300)}.org`]) {
      assert.ok("problem" in recipientDomain(bad), bad);
    }
  });
});

describe("planning a route", () => {
  test("without routes or smarthost, mail goes by MX", () => {
    assert.deepEqual(planRoute("a@example.org", table({})), { kind: "mx", domain: "example.org" });
  });

  test("an address literal goes to that address", () => {
    assert.deepEqual(planRoute("a@[192.0.2.7]", table({})), { kind: "literal", address: "192.0.2.7" });
    assert.deepEqual(planRoute("a@[IPv6:2001:db8::7]", table({})), { kind: "literal", address: "2001:db8::7" });
  });

  test("a smarthost takes every mail, address literals included", () => {
    const routes = table({ smarthost: "smtp.example.net:587" });
    const hop = { host: "smtp.example.net", port: 587, tls: "opportunistic", auth: null };
    assert.deepEqual(planRoute("a@example.org", routes), { kind: "relay", via: "smarthost", hop });
    assert.deepEqual(planRoute("a@[192.0.2.7]", routes), { kind: "relay", via: "smarthost", hop });
  });

  test("a route for the domain wins over the smarthost; the port defaults to 25", () => {
    const routes = table({ smarthost: "smtp.example.net:587", routes: { "Example.ORG": "10.1.2.3" } });
    assert.deepEqual(planRoute("a@example.org", routes), { kind: "relay", via: "route", hop: { host: "10.1.2.3", port: 25, tls: "opportunistic", auth: null } });
    assert.equal(planRoute("a@other.example", routes).kind, "relay");
  });

  test("a .domain route takes the subdomains, and the nearest parent wins; the domain itself is not included", () => {
    const routes = table({ routes: { ".example.org": "[2001:db8::1]:2525", ".eu.example.org": "eu.relay.test:25" } });
    assert.deepEqual(planRoute("a@mail.example.org", routes), { kind: "relay", via: "route", hop: { host: "2001:db8::1", port: 2525, tls: "opportunistic", auth: null } });
    assert.deepEqual(planRoute("a@x.eu.example.org", routes), { kind: "relay", via: "route", hop: { host: "eu.relay.test", port: 25, tls: "opportunistic", auth: null } });
    assert.deepEqual(planRoute("a@example.org", routes), { kind: "mx", domain: "example.org" });
  });

  test("a route can carry its TLS policy and AUTH", () => {
    const routes = table({
      routes: { "example.org": { address: "relay.example.org:465", tls: "implicit", auth: { user: "mailhook", passwordFile: "/run/secrets/pw" } } },
    });
    assert.deepEqual(planRoute("a@example.org", routes), {
      kind: "relay",
      via: "route",
      hop: { host: "relay.example.org", port: 465, tls: "implicit", auth: { user: "mailhook", passwordFile: "/run/secrets/pw" } },
    });
  });

  test("an invalid address is not routed at all", () => {
    assert.deepEqual(planRoute("nobody", table({ smarthost: "smtp.example.net:25" })), { kind: "invalid", problem: "recipient address has no local part or no domain" });
  });
});
