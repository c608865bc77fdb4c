// Where a recipient's mail goes, before any DNS: a per-domain route, else the smarthost, else the
// address literal or the domain's MX. Pure; the routes are compiled once per settings.
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { parseHostPort, type NextHopSettings, type OutboundSettings, type TlsPolicy } from "./settings.ts";

export interface NextHop {
  /** Host name or IP address to connect to (a name is looked up by A/AAAA, never MX). */
  readonly host: string;
  readonly port: number;
  readonly tls: TlsPolicy;
  readonly auth: { readonly user: string; readonly passwordFile: string } | null;
}

export type RoutePlan =
  | { readonly kind: "relay"; readonly via: "route" | "smarthost"; readonly hop: NextHop }
  | { readonly kind: "mx"; readonly domain: string }
  | { readonly kind: "literal"; readonly address: string }
  /** The address cannot be delivered as written (error status 9). */
  | { readonly kind: "invalid"; readonly problem: string };

export interface RouteTable {
  readonly exact: ReadonlyMap<string, NextHop>;
  /** `.example.net` entries, keyed without the dot. */
  readonly subdomains: ReadonlyMap<string, NextHop>;
  readonly smarthost: NextHop | null;
}

export function compileRoutes(settings: Pick<OutboundSettings, "routes" | "smarthost">): RouteTable {
  const exact = new Map<string, NextHop>();
  const subdomains = new Map<string, NextHop>();
  for (const [key, hop] of Object.entries(settings.routes)) {
    const domain = key.toLowerCase();
    if (domain.startsWith(".")) subdomains.set(domain.slice(1), toNextHop(hop));
    else exact.set(domain, toNextHop(hop));
  }
  return { exact, subdomains, smarthost: settings.smarthost === null ? null : toNextHop(settings.smarthost) };
}

function toNextHop(settings: NextHopSettings): NextHop {
  const { host, port } = parseHostPort(settings.address);
  return { host: host.toLowerCase(), port, tls: settings.tls, auth: settings.auth };
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The recipient's domain in ASCII (IDNA), lower case; an address literal keeps its brackets. */
export function recipientDomain(recipient: string): { domain: string } | { problem: string } {
  const at = recipient.lastIndexOf("@");
  if (at <= 0 || at === recipient.length - 1) return { problem: "recipient address has no local part or no domain" };
  if (recipient.length > 320 || /[\s<>\p{Cc}]/u.test(recipient)) return { problem: "recipient address is malformed" };
  const written = recipient.slice(at + 1).replace(/\.$/, "");
  if (written.startsWith("[")) {
    const address = literalAddress(written);
    return address === null ? { problem: `address literal ${written} is not an IP address` } : { domain: written.toLowerCase() };
  }
  const domain = domainToASCII(written);
  return domain !== "" && DOMAIN.test(domain) ? { domain } : { problem: `recipient domain ${written} is not a valid domain name` };
}

/** `[192.0.2.1]` → `192.0.2.1`, `[IPv6:2001:db8::1]` → `2001:db8::1`; null when not a literal. */
function literalAddress(literal: string): string | null {
  const m = /^\[(?:(IPv6:)([0-9a-fA-F:.]+)|(\d{1,3}(?:\.\d{1,3}){3}))\]$/i.exec(literal);
  if (m === null) return null;
  if (m[2] !== undefined) return isIP(m[2]) === 6 ? m[2] : null;
  return isIP(m[3]!) === 4 ? m[3]! : null;
}

export function planRoute(recipient: string, table: RouteTable): RoutePlan {
  const parsed = recipientDomain(recipient);
  if ("problem" in parsed) return { kind: "invalid", problem: parsed.problem };
  const { domain } = parsed;
  const route = table.exact.get(domain) ?? parentRoute(domain, table.subdomains);
  if (route !== undefined) return { kind: "relay", via: "route", hop: route };
  if (table.smarthost !== null) return { kind: "relay", via: "smarthost", hop: table.smarthost };
  if (domain.startsWith("[")) return { kind: "literal", address: literalAddress(domain)! };
  return { kind: "mx", domain };
}

/** The route of the nearest parent domain listed as `.parent`. */
function parentRoute(domain: string, subdomains: ReadonlyMap<string, NextHop>): NextHop | undefined {
  for (let dot = domain.indexOf("."); dot !== -1; dot = domain.indexOf(".", dot + 1)) {
    const hop = subdomains.get(domain.slice(dot + 1));
    if (hop !== undefined) return hop;
  }
  return undefined;
}
