// A recipient → the addresses to try, in order. The route plan (route.ts) picks the next hop; DNS
// turns it into addresses: MX records (mx-order.ts) and A/AAAA for each host, or A/AAAA for a route's
// or smarthost's host. Which DNS answers are final (RFC 5321 5.1, RFC 7505):
// - NXDOMAIN for the recipient's domain, or no address for any of its mail hosts: failed, hostunknown;
// - a null MX: failed, notaccept (as Sisimai and the bounce corpus name a 5.1.10 refusal);
// - no MX but the domain exists: its own A/AAAA records are the mail host (the "implicit MX");
// - SERVFAIL, timeouts and other resolver errors: deferred.
// A route's or the smarthost's host that does not resolve is a configuration problem, never the
// recipient's: deferred.
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { localFailure, type Deferred, type Failed } from "./classify.ts";
import { orderMx, type MxRecord, type Random } from "./mx-order.ts";
import { planRoute, type NextHop, type RouteTable } from "./route.ts";
import type { OutboundSettings, TlsPolicy } from "./settings.ts";

/** One address to try. */
export interface Target {
  /** The host's name (TLS server name, logs), or its address when the hop was written as one. */
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly tls: TlsPolicy;
  readonly auth: NextHop["auth"];
}

export type Resolution = { readonly kind: "targets"; readonly targets: readonly Target[] } | Deferred | Failed;

/** What resolve.ts asks of node:dns/promises' Resolver. */
export interface DnsResolver {
  resolveMx(name: string): Promise<MxRecord[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

export function createDnsResolver(settings: OutboundSettings["dns"]): Resolver {
  const resolver = new Resolver({ timeout: Math.round(settings.timeoutSeconds * 1000), tries: settings.tries });
  if (settings.servers.length > 0) resolver.setServers(settings.servers);
  return resolver;
}

export interface ResolveOptions {
  readonly routes: RouteTable;
  /** Port of MX hosts and address literals. */
  readonly mxPort: number;
  /** TLS policy for MX hosts and address literals. */
  readonly mxTls: TlsPolicy;
  readonly maxAddresses: number;
  /** Whether an MX host's or address literal's address may be connected to (outbound.allowNetworks). */
  readonly mayConnect: (address: string) => boolean;
  readonly random?: Random;
}

export async function resolveDestination(recipient: string, options: ResolveOptions, dns: DnsResolver): Promise<Resolution> {
  const plan = planRoute(recipient, options.routes);
  switch (plan.kind) {
    case "invalid":
      return localFailure("addressformat", `553 5.1.3 ${plan.problem}`);
    case "literal":
      if (!options.mayConnect(plan.address)) return forbidden(plan.address);
      return { kind: "targets", targets: [{ host: plan.address, address: plan.address, port: options.mxPort, tls: options.mxTls, auth: null }] };
    case "relay":
      return resolveNextHop(plan.via, plan.hop, options, dns);
    case "mx":
      return resolveMx(plan.domain, options, dns);
  }
}

async function resolveNextHop(via: "route" | "smarthost", hop: NextHop, options: ResolveOptions, dns: DnsResolver): Promise<Resolution> {
  const found = await addressesOf(hop.host, dns);
  if (found.kind === "none" || found.kind === "temporary") {
    return { kind: "deferred", reason: `${via} host ${hop.host} has no usable address (${found.detail})` };
  }
  const targets = found.addresses.slice(0, options.maxAddresses).map((address) => ({ host: hop.host, address, port: hop.port, tls: hop.tls, auth: hop.auth }));
  return { kind: "targets", targets };
}

async function resolveMx(domain: string, options: ResolveOptions, dns: DnsResolver): Promise<Resolution> {
  let hosts: readonly string[];
  try {
    const ordered = orderMx(await dns.resolveMx(domain), options.random);
    if (ordered.kind === "null-mx") return localFailure("notaccept", `556 5.1.10 ${domain} accepts no mail (null MX, RFC 7505)`);
    hosts = ordered.hosts.length > 0 ? ordered.hosts : [domain];
  } catch (err) {
    const code = dnsCode(err);
    if (code === "ENOTFOUND") return localFailure("hostunknown", `550 5.1.2 Host or domain name not found: ${domain} does not exist (NXDOMAIN)`);
    if (code !== "ENODATA") return { kind: "deferred", reason: `DNS MX lookup for ${domain} failed: ${code}` };
    hosts = [domain];
  }

  const targets: Target[] = [];
  const temporary: string[] = [];
  const refused: string[] = [];
  for (const host of hosts) {
    if (targets.length >= options.maxAddresses) break;
    const found = await addressesOf(host, dns);
    if (found.kind === "addresses") {
      for (const address of found.addresses) {
        if (options.mayConnect(address)) targets.push({ host, address, port: options.mxPort, tls: options.mxTls, auth: null });
        else refused.push(address);
      }
    } else if (found.kind === "temporary") {
      temporary.push(`${host}: ${found.detail}`);
    }
  }
  if (targets.length > 0) return { kind: "targets", targets: targets.slice(0, options.maxAddresses) };
  if (temporary.length > 0) return { kind: "deferred", reason: `DNS address lookup failed for ${temporary.join(", ")}` };
  if (refused.length > 0) return forbidden(refused.join(", "));
  const which = hosts.length === 1 && hosts[0] === domain ? `${domain} has no MX, A or AAAA record` : `no mail host of ${domain} has an address (${hosts.join(", ")})`;
  return localFailure("hostunknown", `550 5.1.2 Host or domain name not found: ${which}`);
}

type Addresses =
  | { readonly kind: "addresses"; readonly addresses: readonly string[] }
  /** The name does not exist or has no A/AAAA record. */
  | { readonly kind: "none"; readonly detail: string }
  | { readonly kind: "temporary"; readonly detail: string };

/** IPv4 first, then IPv6: many clusters have no IPv6 egress, where an IPv6 address fails at once anyway. */
async function addressesOf(host: string, dns: DnsResolver): Promise<Addresses> {
  if (isIP(host) !== 0) return { kind: "addresses", addresses: [host] };
  const [v4, v6] = await Promise.allSettled([dns.resolve4(host), dns.resolve6(host)]);
  const addresses = [...(v4.status === "fulfilled" ? v4.value : []), ...(v6.status === "fulfilled" ? v6.value : [])];
  if (addresses.length > 0) return { kind: "addresses", addresses };
  const codes = [v4, v6].map((r) => (r.status === "rejected" ? dnsCode(r.reason) : "ENODATA"));
  const detail = [...new Set(codes)].join("/");
  return codes.every((c) => c === "ENODATA" || c === "ENOTFOUND") ? { kind: "none", detail } : { kind: "temporary", detail };
}

function dnsCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,32}$/.test(code) ? code : "DNS error";
}

/** The relay's own policy: the destination is inside a network mail may not be sent to. */
function forbidden(addresses: string): Failed {
  return localFailure("policyviolation", `550 5.7.1 mail host address ${addresses} is loopback, private or reserved; not allowed by outbound.allowNetworks`);
}
