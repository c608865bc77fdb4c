// The two systems under test, each started fresh (own process, own spool) for every scenario so that its
// CPU time and peak RSS belong to that scenario alone.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { forget, forkModule, freePort, profilingFlags, removeAtExit, spawnProgram, type Child } from "./children.ts";
import { benchDomain, sinkDomain } from "./messages.ts";
import type { OutboundBaselineJob, Ready } from "./protocol.ts";
import type { SystemName } from "./stats.ts";

export interface SystemUnderTest {
  readonly name: SystemName;
  readonly pid: number;
  readonly smtpPort: number;
  /** Resolves with a description if the process ends on its own. */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

export interface Endpoint {
  url: string;
  caFile: string;
}

const startTimeoutMs = 30_000;

/** A bench module that reports its SMTP port with a `ready` message once listening. */
async function forkSystem(name: SystemName, modulePath: string, args: string[], what: string): Promise<SystemUnderTest> {
  const child = forkModule(new URL(modulePath, import.meta.url).pathname, args, what, profilingFlags());
  try {
    const ready = await child.message<Ready>("ready", startTimeoutMs);
    return { name, pid: child.pid, smtpPort: ready.port, exited: child.exited, stop: () => child.stop() };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

export function startBaseline(endpoint: Endpoint): Promise<SystemUnderTest> {
  return forkSystem("baseline", "./naive-baseline.ts", [endpoint.url, endpoint.caFile], "naive baseline");
}

/** The durable floor (durable-floor.ts), its file in a temp dir removed when it stops. */
export async function startDurableFloor(endpoint: Endpoint): Promise<SystemUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), "mailhook-bench-floor-"));
  removeAtExit(dir);
  const removeDir = async () => {
    await rm(dir, { recursive: true, force: true });
    forget(dir);
  };
  try {
    const system = await forkSystem("floor", "./durable-floor.ts", [endpoint.url, endpoint.caFile, dir], "durable floor");
    return { ...system, stop: () => system.stop().finally(removeDir) };
  } catch (err) {
    await removeDir();
    throw err;
  }
}

/** The naive relay to the sink; with `events`, it posts each event on its own there. */
export function startOutboundBaseline(sinkPort: number, events: Endpoint | null): Promise<SystemUnderTest> {
  const job: OutboundBaselineJob = { sinkPort, events };
  return forkSystem("baseline", "./naive-outbound-baseline.ts", [JSON.stringify(job)], "naive outbound baseline");
}

export class MailhookUnavailable extends Error {
  code = "BENCH_MAILHOOK_UNAVAILABLE";
}

/** What a mailhook run is made of: relay.yaml (given the ports chosen for it) and its manifests. */
interface MailhookLayout {
  settings(ports: { smtpPort: number; metricsPort: number; spoolDir: string }): Record<string, unknown>;
  manifests: Record<string, unknown>[];
}

/** `mailhook relay` receiving mail for the bench domain and posting it to `endpoint` (InboundWebhook, JSON). */
export function startMailhook(endpoint: Endpoint, bin: string, cwd: string): Promise<SystemUnderTest> {
  return launchMailhook(bin, cwd, {
    settings: ({ smtpPort, metricsPort, spoolDir }) => ({
      serverComposition: "bench",
      inbound: { listen: `127.0.0.1:${smtpPort}`, hostname: `mx.${benchDomain}`, domains: [benchDomain], maxConnections: 5000 },
      ...common(metricsPort, spoolDir, endpoint),
    }),
    manifests: [
      manifest("InboundWebhook", {
        endpoint: endpoint.url,
        conditions: [{ header: "To", pattern: `@${benchDomain.replaceAll(".", "\\.")}$` }],
        contentType: "json",
        retry: { intervalSeconds: 10 },
      }),
    ],
  });
}

/**
 * `mailhook relay` relaying what its submission listener accepts from loopback to the sink (a route, so no
 * DNS; opportunistic STARTTLS, which the sink does not offer). With `events`, one EventWebhook receives the
 * delivery events there in batches of up to 1000, JSON, version 2.
 */
export function startOutboundMailhook(sinkPort: number, events: Endpoint | null, bin: string, cwd: string): Promise<SystemUnderTest> {
  return launchMailhook(bin, cwd, {
    settings: ({ smtpPort, metricsPort, spoolDir }) => ({
      serverComposition: "bench",
      // The inbound listener always runs; this one gets no mail.
      inbound: { listen: "127.0.0.1:0" },
      submission: { listen: `127.0.0.1:${smtpPort}`, hostname: "relay.bench", allowedNetworks: ["127.0.0.0/8"], maxConnections: 5000 },
      outbound: { routes: { [sinkDomain]: `127.0.0.1:${sinkPort}` }, heloName: "relay.bench" },
      ...common(metricsPort, spoolDir, events),
    }),
    manifests: events === null ? [] : [
      manifest("EventWebhook", {
        endpoint: events.url,
        events: { deliveries: true, bounces: true },
        version: "2",
        contentType: "json",
        timeZone: "UTC",
        batch: { intervalSeconds: 1, maxEvents: 1000 },
      }),
    ],
  });
}

function common(metricsPort: number, spoolDir: string, endpoint: Endpoint | null): Record<string, unknown> {
  return {
    spool: { dir: spoolDir },
    metrics: { listen: `127.0.0.1:${metricsPort}` },
    ...(endpoint === null ? {} : { endpoints: { caFile: endpoint.caFile, allowNetworks: ["127.0.0.0/8"] } }),
    // The baselines log nothing; per-message info lines would tax mailhook alone.
    log: { level: "warn" },
  };
}

const manifest = (kind: string, spec: Record<string, unknown>) =>
  ({ apiVersion: "mailhook.dev/v1alpha1", kind, metadata: { name: "bench", namespace: "default" }, spec });

/** `mailhook relay` as a user runs it, from a fresh temp dir that is removed when it stops. */
async function launchMailhook(bin: string, cwd: string, layout: MailhookLayout): Promise<SystemUnderTest> {
  if (!existsSync(bin)) throw new MailhookUnavailable(`${bin} does not exist`);
  const dir = await mkdtemp(join(tmpdir(), "mailhook-bench-"));
  removeAtExit(dir);
  const removeDir = async () => {
    await rm(dir, { recursive: true, force: true });
    forget(dir);
  };
  let child: Child | null = null;
  try {
    const [smtpPort, metricsPort] = [await freePort(), await freePort()];
    const config = join(dir, "relay.yaml");
    const manifests = join(dir, "manifests");
    const spoolDir = join(dir, "spool");
    await writeFile(config, stringify(layout.settings({ smtpPort, metricsPort, spoolDir })));
    await mkdir(manifests);
    await mkdir(spoolDir);
    for (const [i, m] of layout.manifests.entries()) await writeFile(join(manifests, `bench-${i}.yaml`), stringify(m));
    child = spawnProgram(process.execPath, [...profilingFlags(), bin, "relay", "--config", config, "--manifests", manifests], cwd, "mailhook relay");
    await waitReady(child, metricsPort);
    const started = child;
    return {
      name: "mailhook",
      pid: started.pid,
      smtpPort,
      exited: started.exited,
      stop: async () => {
        await started.stop();
        await removeDir();
      },
    };
  } catch (err) {
    await child?.stop();
    await removeDir();
    throw err;
  }
}

/** Poll /readyz until 200; the relay exiting or not getting ready in time is an error with its stderr. */
async function waitReady(child: Child, metricsPort: number): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(`http://127.0.0.1:${metricsPort}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return;
    const gone = await Promise.race([child.exited, sleep(100).then(() => null)]);
    if (gone !== null) throw new MailhookUnavailable(gone);
  }
  throw new MailhookUnavailable(`not ready within ${startTimeoutMs} ms: ${child.stderrTail().slice(-800)}`);
}
