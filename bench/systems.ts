// The two systems under test, each started fresh (own process, own spool) for every scenario so that its
// CPU time and peak RSS belong to that scenario alone.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { forget, forkModule, freePort, removeAtExit, spawnProgram, type Child } from "./children.ts";
import { benchDomain } from "./messages.ts";
import type { Ready } from "./protocol.ts";
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

export async function startBaseline(endpoint: Endpoint): Promise<SystemUnderTest> {
  const child = forkModule(new URL("./naive-baseline.ts", import.meta.url).pathname, [endpoint.url, endpoint.caFile], "naive baseline");
  try {
    const ready = await child.message<Ready>("ready", startTimeoutMs);
    return { name: "baseline", pid: child.pid, smtpPort: ready.port, exited: child.exited, stop: () => child.stop() };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

export class MailhookUnavailable extends Error {
  code = "BENCH_MAILHOOK_UNAVAILABLE";
}

/** `mailhook relay` as a user runs it: relay.yaml plus one InboundWebhook manifest, all on loopback. */
export async function startMailhook(endpoint: Endpoint, bin: string, cwd: string): Promise<SystemUnderTest> {
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
    await writeFile(config, stringify({
      serverComposition: "bench",
      inbound: { listen: `127.0.0.1:${smtpPort}`, hostname: `mx.${benchDomain}`, domains: [benchDomain], maxConnections: 5000 },
      spool: { dir: join(dir, "spool") },
      metrics: { listen: `127.0.0.1:${metricsPort}` },
      endpoints: { caFile: endpoint.caFile, allowNetworks: ["127.0.0.0/8"] },
      // The baseline logs nothing; per-message info lines would tax mailhook alone.
      log: { level: "warn" },
    }));
    await mkdir(manifests);
    await mkdir(join(dir, "spool"));
    await writeFile(join(manifests, "bench.yaml"), stringify({
      apiVersion: "mailhook.dev/v1alpha1",
      kind: "InboundWebhook",
      metadata: { name: "bench", namespace: "default" },
      spec: {
        endpoint: endpoint.url,
        conditions: [{ header: "To", pattern: `@${benchDomain.replaceAll(".", "\\.")}$` }],
        contentType: "json",
        retry: { intervalSeconds: 10 },
      },
    }));
    child = spawnProgram(process.execPath, [bin, "relay", "--config", config, "--manifests", manifests], cwd, "mailhook relay");
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
