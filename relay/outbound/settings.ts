// The `outbound:` block of relay.yaml: how the relay reaches destination servers. Proposed for
// relay/config/schema.ts as `outbound: outboundSettings.prefault({})`; kept here, beside the code that
// reads it, until the lead moves it. Defaults follow Postfix where it has an equivalent setting.
import { isIP } from "node:net";
import { hostname } from "node:os";
import { z } from "zod";
import { parseNetwork } from "../deliver/address-guard.ts";

/** `host:port`, `[v6]:port`, or a bare host (port 25). */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::(\d{1,5}))?$/;

export function parseHostPort(value: string): { host: string; port: number } {
  const m = HOST_PORT.exec(value);
  if (m === null) throw new Error(`not host:port: ${JSON.stringify(value)}`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port: m[2] === undefined ? 25 : Number(m[2]) };
}

const hostPort = z
  .string()
  .regex(HOST_PORT, "must be host:port, e.g. smtp.example.net:587 or [2001:db8::1]:25")
  .refine((s) => {
    // A value the regex refused has its message already.
    if (!HOST_PORT.test(s)) return true;
    const { host, port } = parseHostPort(s);
    return port >= 1 && port <= 65535 && (!s.startsWith("[") || isIP(host) === 6);
  }, "port must be 1-65535 and a bracketed host an IPv6 address");

/**
 * - `opportunistic`: STARTTLS when offered, any certificate accepted, plain text when the server offers
 *   none or the handshake fails (Postfix `may`; without DANE or MTA-STS a certificate check on MX hosts
 *   protects nothing that stripping STARTTLS would not defeat, and refusing loses real mail).
 * - `verify`: STARTTLS required, certificate checked against the host name (system CAs + `tls.caFile`);
 *   otherwise the mail is deferred.
 * - `implicit`: TLS from the first byte (port 465), checked as `verify`.
 * - `none`: never STARTTLS (for a broken peer).
 */
export const tlsPolicy = z.enum(["opportunistic", "verify", "implicit", "none"]);
export type TlsPolicy = z.output<typeof tlsPolicy>;

const relayHost = z
  .strictObject({
    address: hostPort,
    tls: tlsPolicy.default("opportunistic"),
    /** SMTP AUTH; the password is read from the file at each new connection (a mounted Secret rotates). */
    auth: z.strictObject({ user: z.string().min(1).max(255), passwordFile: z.string().min(1) }).nullable().default(null),
  })
  .refine((hop) => hop.auth === null || hop.tls === "verify" || hop.tls === "implicit", {
    message: "auth needs tls: verify or implicit, so the password never crosses the network in clear",
    path: ["auth"],
  });

/** A next hop: `host:port`, or an object with TLS policy and AUTH. */
export const nextHop = z.union([
  hostPort.transform((address) => ({ address, tls: "opportunistic" as const, auth: null })),
  relayHost,
]);
export type NextHopSettings = z.output<typeof nextHop>;

/** `example.net` (that domain) or `.example.net` (its subdomains). */
const routeDomain = z
  .string()
  .regex(/^\.?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, "must be a domain name, or .domain for its subdomains");

/** A DNS server: an IP address, optionally with a port (`127.0.0.1:5353`, `[::1]:53`). */
const dnsServer = z.string().refine((s) => {
  if (isIP(s) !== 0) return true;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(s);
  return m !== null && isIP(m[1] ?? m[2] ?? "") !== 0 && Number(m[3]) >= 1 && Number(m[3]) <= 65535;
}, "must be an IP address with an optional port, e.g. 10.96.0.10 or 127.0.0.1:5353");

const upTo = (max: number) => z.number().positive().max(max);

export const outboundSettings = z.strictObject({
  /** Every mail goes through this host (no MX lookup), unless a route names its domain. */
  smarthost: nextHop.nullable().default(null),
  /** Per-domain next hops, consulted first. Mail to a route's host is not looked up by MX. */
  routes: z.record(routeDomain, nextHop).default({}),
  dns: z
    .strictObject({
      /** Empty: the system resolver's servers (/etc/resolv.conf). */
      servers: z.array(dnsServer).default([]),
      timeoutSeconds: upTo(60).default(5),
      tries: z.int().min(1).max(10).default(2),
    })
    .prefault({}),
  /**
   * Mail hosts found by MX lookup, and address literals, on loopback, private, link-local or other
   * special-purpose addresses are refused unless listed here (CIDR): a domain whose MX points inside
   * the cluster must not turn the relay into a probe of internal services. Routes and the smarthost
   * are the administrator's own choice and are not checked.
   */
  allowNetworks: z
    .array(
      z.string().refine((text) => {
        try {
          parseNetwork(text);
          return true;
        } catch {
          return false;
        }
      }, "must be an IP network in CIDR notation, e.g. 10.0.0.0/8"),
    )
    .default([]),
  /** Port of MX hosts and address literals. 25 in production; tests point it at a sink. */
  mxPort: z.int().min(1).max(65535).default(25),
  /** Name sent in EHLO and in the Received header: the FQDN that the egress address's PTR names. */
  heloName: z.string().min(1).max(255).regex(/^[A-Za-z0-9.:[\]-]+$/, "must be a host name").default(() => hostname()),
  tls: z
    .strictObject({
      /** Policy for MX hosts and address literals (routes and the smarthost carry their own). */
      mx: tlsPolicy.exclude(["implicit"]).default("opportunistic"),
      /** Extra CA bundle (PEM) trusted, with the system's, where a policy checks certificates. */
      caFile: z.string().min(1).nullable().default(null),
    })
    .prefault({}),
  timeouts: z
    .strictObject({
      /** TCP connect, per address. */
      connectSeconds: upTo(600).default(30),
      /** Greeting, EHLO and the STARTTLS handshake. RFC 5321 4.5.3.2 allows 5 minutes for the greeting. */
      greetingSeconds: upTo(3600).default(300),
      /** Silence while waiting for any reply (MAIL, RCPT, …). RFC 5321: 5 minutes. */
      commandSeconds: upTo(3600).default(300),
      /** The whole transaction, MAIL FROM to the reply after the final dot. RFC 5321: 10 minutes for the dot. */
      dataSeconds: upTo(3600).default(600),
    })
    .prefault({}),
  connections: z
    .strictObject({
      /** Open connections per destination address and port (idle ones included). */
      maxPerDestination: z.int().min(1).max(1000).default(10),
      /** Messages sent over one connection before it is closed. */
      maxMessagesPerConnection: z.int().min(1).max(10_000).default(100),
      /** How long an idle connection is kept for the next mail to the same destination. */
      idleSeconds: upTo(300).default(5),
    })
    .prefault({}),
  /**
   * Domain of the VERP return path (`<local>+<job>@bounceDomain`) so that bounce mails name the job
   * they are about. The inbound listener accepts mail for it; point its MX at the relay. Without it
   * the sender's own envelope from is kept and asynchronous bounces go back to the sender.
   */
  bounceDomain: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, "must be a domain name")
    .transform((d) => d.toLowerCase())
    .nullable()
    .default(null),
  /**
   * Suppression: a recipient that hard-bounced as an unknown user (error status 2) is not sent to
   * again for `days`; such mail fails at once with error status 10.
   */
  suppression: z
    .strictObject({ enabled: z.boolean().default(false), days: z.int().min(1).max(3650).default(30) })
    .prefault({}),
  /** Deliveries in progress at once, all destinations together (each destination also has its own limit). */
  concurrency: z.int().min(1).max(10_000).default(100),
  /** Addresses tried per delivery attempt, across all MX hosts (Postfix smtp_mx_address_limit). */
  maxAddressesPerAttempt: z.int().min(1).max(50).default(5),
  /** A message with more Received headers (this relay's included) is a mail loop: failed, error status 7. */
  maxReceivedHeaders: z.int().min(5).max(500).default(30),
  retry: z
    .strictObject({
      /** First retry after a temporary failure; each later one waits twice as long … */
      firstDelaySeconds: upTo(86_400).default(300),
      /** … up to this. */
      maxDelaySeconds: upTo(86_400).default(3600),
      /** Give up this long after the mail was accepted: `failed` + `bounced`, error status 3. */
      maxAgeHours: upTo(24 * 30).default(120),
    })
    .refine((r) => r.maxDelaySeconds >= r.firstDelaySeconds, { message: "maxDelaySeconds must be at least firstDelaySeconds", path: ["maxDelaySeconds"] })
    .prefault({}),
});

export type OutboundSettings = z.output<typeof outboundSettings>;
export type OutboundSettingsInput = z.input<typeof outboundSettings>;
