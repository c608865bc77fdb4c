// An in-process relay on loopback for end-to-end tests: real SMTP listener, real spool in a temp dir,
// real HTTPS posts to a test receiver. Webhooks are applied as the operator's build would hand them.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer";
import type { InboundWebhookConfig, RelaySettingsInput } from "../../relay/config/schema.ts";
import { relaySettings } from "../../relay/config/schema.ts";
import { silentLogger } from "../../relay/log.ts";
import { Relay } from "../../relay/relay.ts";
import { testCaFile } from "./tls-fixtures.ts";

export interface RelayHarness {
  relay: Relay;
  spoolDir: string;
  /** Sends one mail over a fresh SMTP connection; resolves with the server's final answer or rejects with it. */
  send(options: Mail.Options & { envelope?: { from: string; to: string[] } }): Promise<string>;
  metric(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function startRelay(
  settings: RelaySettingsInput = {},
  options: { now?: () => number; spoolDir?: string } = {},
): Promise<RelayHarness> {
  const spoolDir = options.spoolDir ?? (await mkdtemp(join(tmpdir(), "mailhook-e2e-")));
  const relay = await Relay.start(
    relaySettings.parse({
      serverComposition: "test",
      ...settings,
      inbound: { listen: "127.0.0.1:0", domains: ["example.com"], hostname: "mx.test", ...settings.inbound },
      spool: { dir: spoolDir },
      metrics: { listen: "127.0.0.1:0" },
      endpoints: { caFile: testCaFile, allowNetworks: ["127.0.0.0/8"], ...settings.endpoints },
    }),
    { logger: silentLogger, now: options.now, closeGraceMs: 2000 },
  );
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port: relay.smtpPort, secure: false, ignoreTLS: true });
  return {
    relay,
    spoolDir,
    async send(mail) {
      const info = (await transport.sendMail({ from: "alice@sender.test", ...mail })) as { response: string };
      return info.response;
    },
    async metric(name) {
      const text = await relay.metrics.registry.getSingleMetricAsString(name);
      return text;
    },
    async close() {
      transport.close();
      await relay.stop();
      if (options.spoolDir === undefined) await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

/** An InboundWebhook as the operator's build resolves it, with test-friendly defaults. */
export function inboundWebhook(name: string, endpoint: string, overrides: Partial<InboundWebhookConfig> = {}): InboundWebhookConfig {
  return {
    key: `default/${name}`,
    namespace: "default",
    name,
    endpoint,
    conditions: [{ header: "To", pattern: "@example\\.com$" }],
    contentType: "multipart",
    auth: {},
    retry: { intervalSeconds: 1, periodDays: 1 },
    timeoutSeconds: 5,
    suspended: false,
    ...overrides,
  };
}

/** Parses a recorded multipart or JSON post the way a receiver would. */
export async function formFields(body: Buffer, contentType: string): Promise<FormData> {
  return new Response(body, { headers: { "content-type": contentType } }).formData();
}
