// The relay's configuration contract. Two parts:
// - RelaySettings: relay.yaml, written by people (documented key by key in docs/relay-config.md);
// - WebhookSet: the webhooks the relay serves, produced by the operator's build (from the cluster, or
//   from manifest files in standalone mode) with Secrets already resolved.
// The relay only ever sees these two shapes; it never imports the operator.
import { isIP } from "node:net";
import { hostname } from "node:os";
import { z } from "zod";
import { outboundSettings } from "../outbound/settings.ts";
import { isTimeZone } from "../events/local-time.ts";

/** `host:port`, `[v6]:port` or `:port`; port 0 asks the OS for a free one (tests). */
export const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, "must be host:port, e.g. 0.0.0.0:2525")
  .refine((s) => Number(s.slice(s.lastIndexOf(":") + 1)) <= 65535, "port must be 0-65535");

export function parseListen(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return { host: host === "" ? "0.0.0.0" : host, port: Number(address.slice(i + 1)) };
}

/** An IPv4 or IPv6 network in CIDR notation (a bare address means a single host). */
export const cidr = z.string().refine((s) => {
  const [addr = "", bits, ...rest] = s.split("/");
  const family = isIP(addr);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}, "must be an IP network in CIDR notation, e.g. 10.0.0.0/8 or fd00::/8");

const domainName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, "must be a domain name")
  .transform((d) => d.toLowerCase());

const tlsFiles = z.strictObject({
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
});

/** What every SMTP listener has: where it listens, what it announces, and its limits. */
function listenerFields(defaultListen: string, defaultMaxRecipients: number) {
  return {
    listen: listenAddress.default(defaultListen),
    /** Name announced in the greeting and in the `Received` trace; defaults to the machine's name. */
    hostname: z.string().min(1).default(() => hostname()),
    maxMessageBytes: z.int().min(1024).max(512 * 1024 ** 2).default(26_214_400),
    maxRecipients: z.int().min(1).max(10_000).default(defaultMaxRecipients),
    /** Longest line accepted in a message, in bytes without CRLF (RFC 5321 says 998; real mail is sloppier). */
    maxLineBytes: z.int().min(998).max(1_048_576).default(10_000),
    /** Largest header section accepted, in bytes. */
    maxHeaderBytes: z.int().min(1024).max(16_777_216).default(262_144),
    maxConnections: z.int().min(1).max(100_000).default(500),
    /**
     * Bytes of messages being received held in memory, all sessions together. Past it a message
     * gets `452 4.3.1` (the sender retries): many slow senders cannot exhaust the relay's memory.
     */
    maxBufferedBytes: z.int().min(1024 * 1024).max(64 * 1024 ** 3).default(512 * 1024 * 1024),
    socketTimeoutSeconds: z.int().min(5).max(3600).default(60),
    /** Certificate for STARTTLS; without it the listener offers no TLS. */
    tls: tlsFiles.nullable().default(null),
  };
}

/** A buffer budget smaller than one message would refuse that message (452) for ever. */
function budgetHoldsOneMessage(s: { maxBufferedBytes: number; maxMessageBytes: number }, ctx: z.RefinementCtx): void {
  if (s.maxBufferedBytes < s.maxMessageBytes) {
    ctx.addIssue({ code: "custom", path: ["maxBufferedBytes"], message: "must be at least maxMessageBytes" });
  }
}

export const inboundSettings = z
  .strictObject({
    ...listenerFields("0.0.0.0:2525", 100),
    domains: z.array(domainName).default([]),
  })
  .superRefine(budgetHoldsOneMessage);

/**
 * The relay-source side: mail to deliver. Only clients from `allowedNetworks` or authenticated as a
 * user of `authUsersFile` may submit; everyone else is refused (never an open relay).
 */
export const submissionSettings = z.strictObject({
  ...listenerFields("0.0.0.0:2587", 1000),
  allowedNetworks: z.array(cidr).default([]),
  /** `username:password` lines, or a folder with one file per user (a mounted Secret). */
  authUsersFile: z.string().min(1).nullable().default(null),
  /** Offer AUTH on connections without TLS (only sensible inside a trusted network). */
  allowInsecureAuth: z.boolean().default(false),
  /** Mail header whose value is echoed as `apiData` in version 2 events. */
  apiDataHeader: z.string().regex(/^[\x21-\x39\x3b-\x7e]+$/, "must be a header name").default("X-Mailhook-Api-Data"),
}).superRefine((s, ctx) => {
  budgetHoldsOneMessage(s, ctx);
  // AUTH is only offered over TLS unless allowed in clear: users configured with neither could never log in.
  if (s.authUsersFile !== null && s.tls === null && !s.allowInsecureAuth) {
    ctx.addIssue({ code: "custom", path: ["authUsersFile"], message: "AUTH needs submission.tls (STARTTLS), or allowInsecureAuth: true inside a trusted network" });
  }
});

export const relaySettings = z.strictObject({
  serverComposition: z.string().min(1).max(255).default("default"),
  inbound: inboundSettings.prefault({}),
  /** Off unless configured. */
  submission: submissionSettings.nullable().default(null),
  /** Delivery of submitted mail: routes, smarthost, MX, TLS, retries (relay/outbound/settings.ts). */
  outbound: outboundSettings.prefault({}),
  spool: z
    .strictObject({
      dir: z.string().min(1).default("/var/lib/mailhook"),
      /**
       * How long an accepted mail waits for others to share its commit before `250`. 0 commits each
       * event-loop turn (syncs are coalesced anyway, see wal-sync.ts); a few ms means fewer commits.
       */
      commitDelayMs: z.int().min(0).max(100).default(0),
    })
    .prefault({}),
  metrics: z.strictObject({ listen: listenAddress.default("0.0.0.0:9464") }).prefault({}),
  endpoints: z
    .strictObject({
      /** Extra CA bundle (PEM) trusted for webhook endpoints, in addition to the system's. */
      caFile: z.string().min(1).nullable().default(null),
      /** Loopback, private and link-local endpoint addresses are refused unless listed here. */
      allowNetworks: z.array(cidr).default([]),
      /** Concurrent connections per endpoint origin. */
      maxConnectionsPerOrigin: z.int().min(1).max(1024).default(32),
      /** Largest response body read (and discarded) from an endpoint. */
      maxResponseBytes: z.int().min(0).max(16_777_216).default(65_536),
      /**
       * Inbound posts (parse, render, sign, HTTPS) on a thread of their own, beside the SMTP event loop.
       * "auto": when the process may use at least 1.5 CPUs (cgroup quota counted; see cpu-allowance.ts).
       */
      postingThread: z.union([z.literal("auto"), z.boolean()]).default("auto"),
    })
    .prefault({}),
  log: z.strictObject({ level: z.enum(["debug", "info", "warn", "error"]).default("info") }).prefault({}),
});

export type RelaySettings = z.output<typeof relaySettings>;
export type RelaySettingsInput = z.input<typeof relaySettings>;

/** Credentials resolved from the webhook's Secrets. Never logged, never in status. */
export const resolvedAuth = z.strictObject({
  basic: z.strictObject({ username: z.string(), password: z.string() }).optional(),
  apiKey: z.string().optional(),
  /** Standard Webhooks secrets (`whsec_…`); more than one during a key rotation: each signs. */
  signingSecrets: z.array(z.string()).optional(),
});
export type ResolvedAuth = z.output<typeof resolvedAuth>;

export const inboundWebhookConfig = z.strictObject({
  /** `namespace/name`: the webhook's identity in the store, metrics and logs. */
  key: z.string(),
  namespace: z.string(),
  /** metadata.name, sent as `filter`. */
  name: z.string(),
  endpoint: z.url({ protocol: /^https$/ }),
  conditions: z.array(z.strictObject({ header: z.string(), pattern: z.string() })).min(1),
  contentType: z.enum(["multipart", "json"]),
  auth: resolvedAuth,
  retry: z.strictObject({ intervalSeconds: z.int(), periodDays: z.int() }),
  timeoutSeconds: z.int(),
  suspended: z.boolean(),
});
export type InboundWebhookConfig = z.output<typeof inboundWebhookConfig>;

export const eventWebhookConfig = z.strictObject({
  /** `namespace/name`: the webhook's identity in the store, metrics and logs. */
  key: z.string(),
  namespace: z.string(),
  name: z.string(),
  endpoint: z.url({ protocol: /^https$/ }),
  /** Which groups it receives: bounces (`bounced`), deliveries (`queued`, `succeeded`, `failed`, `deferred`). */
  events: z.strictObject({ bounces: z.boolean(), deliveries: z.boolean() }),
  version: z.enum(["1", "2"]),
  contentType: z.enum(["form", "json"]),
  /** Checked here too: an unknown zone would make every batch of this webhook unrenderable. */
  timeZone: z.string().refine(isTimeZone, "must be an IANA time zone"),
  auth: resolvedAuth,
  batch: z.strictObject({ intervalSeconds: z.int().min(1), maxEvents: z.int().min(1) }),
  /** A failed batch is retried until this long after it was formed. */
  retry: z.strictObject({ maxAgeHours: z.int().min(1) }),
  timeoutSeconds: z.int(),
});
export type EventWebhookConfig = z.output<typeof eventWebhookConfig>;

/** What the operator's build hands the relay: every valid webhook, sorted by key. */
export const webhookSet = z.strictObject({
  inbound: z.array(inboundWebhookConfig),
  /** Defaults to none, so a set written before EventWebhooks existed still parses. */
  event: z.array(eventWebhookConfig).default([]),
});
export type WebhookSet = z.output<typeof webhookSet>;
export type WebhookSetInput = z.input<typeof webhookSet>;
