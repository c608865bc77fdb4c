import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createDnsResolver, resolveDestination, type ResolveOptions } from "../../../relay/outbound/resolve.ts";
import { compileRoutes } from "../../../relay/outbound/route.ts";
import { compileAddressGuard } from "../../../relay/deliver/address-guard.ts";
import { outboundSettings, type OutboundSettingsInput } from "../../../relay/outbound/settings.ts";
import { startDnsServer, type DnsServer } from "../../helpers/dns-server.ts";

describe("resolving a destination against a real DNS server", () => {
  let dns: DnsServer;

  before(async () => {
    dns = await startDnsServer({
      "example.test": { MX: [{ preference: 20, exchange: "mx2.example.test" }, { preference: 10, exchange: "mx1.example.test" }] },
      "mx1.example.test": { A: ["192.0.2.1", "192.0.2.2"], AAAA: ["2001:db8::1"] },
      "mx2.example.test": { AAAA: ["2001:db8::2"] },
      "implicit.test": { A: ["192.0.2.10"] },
      "nomail.test": { MX: [{ preference: 0, exchange: "." }] },
      "bare.test": {},
      "dangling.test": { MX: [{ preference: 10, exchange: "gone.dangling.test" }] },
      "servfail.test": { rcode: "SERVFAIL" },
      "silent.test": { silent: true },
      "half.test": { MX: [{ preference: 10, exchange: "broken.half.test" }, { preference: 20, exchange: "ok.half.test" }] },
      "broken.half.test": { rcode: "SERVFAIL" },
      "ok.half.test": { A: ["192.0.2.20"] },
      "brokenmx.test": { MX: [{ preference: 10, exchange: "broken.half.test" }] },
      "smtp.relay.test": { A: ["192.0.2.30"] },
      "xn--bcher-kva.test": { A: ["192.0.2.40"] },
    });
  });
  after(() => dns.close());

  function resolve(recipient: string, input: OutboundSettingsInput = {}, extra: Partial<ResolveOptions> = {}) {
    // The test DNS server answers with loopback and documentation addresses: allowed here.
    const settings = outboundSettings.parse({ dns: { servers: [dns.address], timeoutSeconds: 0.2, tries: 1 }, mxPort: 2525, allowNetworks: ["0.0.0.0/0", "::/0"], ...input });
    const guard = compileAddressGuard(settings.allowNetworks);
    const options: ResolveOptions = {
      routes: compileRoutes(settings),
      mxPort: settings.mxPort,
      mxTls: settings.tls.mx,
      maxAddresses: settings.maxAddressesPerAttempt,
      mayConnect: (address) => guard(address).allowed,
      random: () => 0,
      ...extra,
    };
    return resolveDestination(recipient, options, createDnsResolver(settings.dns));
  }

  test("mail hosts on reserved addresses are refused unless outbound.allowNetworks lists them: no probing inside", async () => {
    // 192.0.2.0/24 and 2001:db8::/32 are documentation ranges: reserved, never a real mail host.
    const refused = await resolve("user@example.test", { allowNetworks: [] });
    assert.equal(refused.kind, "failed");
    if (refused.kind !== "failed") return;
    assert.deepEqual([refused.reason, refused.errorStatus], ["policyviolation", 4]);
    assert.match(refused.response, /^550 5\.7\.1 mail host address 192\.0\.2\.1, .* not allowed by outbound\.allowNetworks/);
    const literal = await resolve("user@[10.1.2.3]", { allowNetworks: [] });
    assert.equal(literal.kind, "failed");
    const allowed = await resolve("user@[10.1.2.3]", { allowNetworks: ["10.0.0.0/8"] });
    assert.equal(allowed.kind, "targets");
  });

  test("MX hosts in preference order, each with its IPv4 then IPv6 addresses, on the MX port", async () => {
    const resolution = await resolve("user@example.test");
    assert.equal(resolution.kind, "targets");
    if (resolution.kind !== "targets") return;
    assert.deepEqual(
      resolution.targets.map((t) => `${t.host} ${t.address} ${t.port} ${t.tls}`),
      [
        "mx1.example.test 192.0.2.1 2525 opportunistic",
        "mx1.example.test 192.0.2.2 2525 opportunistic",
        "mx1.example.test 2001:db8::1 2525 opportunistic",
        "mx2.example.test 2001:db8::2 2525 opportunistic",
      ],
    );
  });

  test("no more than maxAddressesPerAttempt addresses are returned", async () => {
    const resolution = await resolve("user@example.test", { maxAddressesPerAttempt: 2 });
    assert.equal(resolution.kind === "targets" && resolution.targets.length, 2);
  });

  test("a domain with no MX but an A record is its own mail host", async () => {
    const resolution = await resolve("user@implicit.test");
    assert.deepEqual(resolution.kind === "targets" && resolution.targets.map((t) => [t.host, t.address]), [["implicit.test", "192.0.2.10"]]);
  });

  test("international domain names are looked up in their ASCII form", async () => {
    const resolution = await resolve("user@bücher.test");
    assert.deepEqual(resolution.kind === "targets" && resolution.targets.map((t) => t.address), ["192.0.2.40"]);
  });

  test("a null MX fails at once: the domain accepts no mail", async () => {
    const resolution = await resolve("user@nomail.test");
    assert.deepEqual(resolution, {
      kind: "failed",
      reason: "notaccept",
      response: "556 5.1.10 nomail.test accepts no mail (null MX, RFC 7505)",
      errorStatus: 4,
      replyCode: 556,
      enhancedStatus: "5.1.10",
    });
  });

  test("a domain that does not exist fails as an unknown host", async () => {
    const resolution = await resolve("user@nowhere.test");
    assert.equal(resolution.kind, "failed");
    assert.equal(resolution.kind === "failed" && resolution.reason, "hostunknown");
    assert.equal(resolution.kind === "failed" && resolution.errorStatus, 1);
    assert.match(resolution.kind === "failed" ? resolution.response : "", /NXDOMAIN/);
  });

  test("a domain that exists with no MX, A or AAAA record fails as an unknown host", async () => {
    const resolution = await resolve("user@bare.test");
    assert.equal(resolution.kind === "failed" && resolution.response, "550 5.1.2 Host or domain name not found: bare.test has no MX, A or AAAA record");
  });

  test("MX hosts that do not exist fail as an unknown host", async () => {
    const resolution = await resolve("user@dangling.test");
    assert.equal(resolution.kind === "failed" && resolution.errorStatus, 1);
    assert.match(resolution.kind === "failed" ? resolution.response : "", /gone\.dangling\.test/);
  });

  test("SERVFAIL and a silent server are temporary", async () => {
    assert.deepEqual(await resolve("user@servfail.test"), { kind: "deferred", reason: "DNS MX lookup for servfail.test failed: ESERVFAIL" });
    assert.deepEqual(await resolve("user@silent.test"), { kind: "deferred", reason: "DNS MX lookup for silent.test failed: ETIMEOUT" });
  });

  test("an MX host whose lookup fails is skipped when another has addresses", async () => {
    const resolution = await resolve("user@half.test");
    assert.deepEqual(resolution.kind === "targets" && resolution.targets.map((t) => t.host), ["ok.half.test"]);
  });

  test("when every MX host's lookup fails temporarily, the mail is deferred", async () => {
    const resolution = await resolve("user@brokenmx.test");
    assert.deepEqual(resolution, { kind: "deferred", reason: "DNS address lookup failed for broken.half.test: ESERVFAIL" });
  });

  test("a smarthost is looked up by A/AAAA only and carries its own port, TLS policy and AUTH", async () => {
    dns.queries.length = 0;
    const resolution = await resolve("user@example.test", {
      smarthost: { address: "smtp.relay.test:587", tls: "verify", auth: { user: "u", passwordFile: "/dev/null" } },
    });
    assert.deepEqual(resolution, {
      kind: "targets",
      targets: [{ host: "smtp.relay.test", address: "192.0.2.30", port: 587, tls: "verify", auth: { user: "u", passwordFile: "/dev/null" } }],
    });
    assert.ok(!dns.queries.some((q) => q.startsWith("MX")), dns.queries.join());
  });

  test("a route given as an IP address needs no DNS at all", async () => {
    dns.queries.length = 0;
    const resolution = await resolve("user@example.test", { routes: { "example.test": "127.0.0.1:2526" } });
    assert.deepEqual(resolution, { kind: "targets", targets: [{ host: "127.0.0.1", address: "127.0.0.1", port: 2526, tls: "opportunistic", auth: null }] });
    assert.deepEqual(dns.queries, []);
  });

  test("a route whose host does not resolve defers the mail: it is a configuration problem", async () => {
    const resolution = await resolve("user@example.test", { routes: { "example.test": "missing.relay.test:25" } });
    assert.deepEqual(resolution, { kind: "deferred", reason: "route host missing.relay.test has no usable address (ENOTFOUND)" });
  });

  test("an address literal goes to that address on the MX port with the MX TLS policy", async () => {
    const resolution = await resolve("user@[127.0.0.1]", { tls: { mx: "none" } });
    assert.deepEqual(resolution, { kind: "targets", targets: [{ host: "127.0.0.1", address: "127.0.0.1", port: 2525, tls: "none", auth: null }] });
  });

  test("an address the relay cannot deliver to as written fails with error status 9", async () => {
    const resolution = await resolve("user@exa mple.test");
    assert.equal(resolution.kind === "failed" && resolution.errorStatus, 9);
    assert.equal(resolution.kind === "failed" && resolution.reason, "addressformat");
  });
});
