// /metrics for Prometheus, /healthz (the process is serving), /readyz (the relay can accept mail:
// listener bound, spool open, a webhook configuration loaded) and /status (delivery facts per webhook,
// as JSON: what a status condition shows; never a Secret value).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface ProbeServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startProbeServer(
  listen: { host: string; port: number },
  registry: Registry,
  isReady: () => { ready: boolean; reason?: string },
  status: () => unknown,
): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (path === "/metrics") {
      registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(err)}\n`),
      );
    } else if (path === "/status") {
      let body: string;
      try {
        body = JSON.stringify(status(), null, 2) + "\n";
      } catch (err) {
        res.writeHead(500, { "content-type": "text/plain" }).end(`status failed: ${String(err)}\n`);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const r = isReady();
      res.writeHead(r.ready ? 200 : 503, { "content-type": "text/plain" }).end(r.ready ? "ready\n" : `not ready: ${r.reason ?? ""}\n`);
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
