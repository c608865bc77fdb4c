// A real HTTPS webhook receiver for tests: node:https with the test CA's localhost certificate, on an
// OS-chosen port. It records every request (raw body bytes included) and answers through a responder
// that a test can swap at any time; the default answers 200.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { localhostCertFile, localhostKeyFile } from "./tls-fixtures.ts";

export type ReceivedRequest = {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
};

/** Writes the answer. May leave the response open to simulate a hung endpoint (close() ends it). */
export type Responder = (request: ReceivedRequest, response: ServerResponse) => unknown;

export type HttpsReceiver = {
  /** `https://127.0.0.1:<port>` (or the host given), without a trailing slash. */
  origin: string;
  port: number;
  requests: ReceivedRequest[];
  /** TCP connections accepted so far, including ones that never sent a request. */
  connections(): number;
  respondWith(responder: Responder): void;
  /** Resolves once `count` requests in total have arrived. */
  waitForRequests(count: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
};

export const answerOk: Responder = (_request, response) => {
  response.writeHead(200, { "content-type": "text/plain" }).end("ok");
};

export async function startHttpsReceiver(
  options: { host?: string; responder?: Responder; certFile?: string; keyFile?: string } = {},
): Promise<HttpsReceiver> {
  const host = options.host ?? "127.0.0.1";
  let responder = options.responder ?? answerOk;
  const requests: ReceivedRequest[] = [];
  const waiters: { count: number; resolve: (requests: ReceivedRequest[]) => void }[] = [];

  const server: Server = createServer(
    {
      cert: readFileSync(options.certFile ?? localhostCertFile),
      key: readFileSync(options.keyFile ?? localhostKeyFile),
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      // A client killed mid-request (crash tests do that) resets the connection: not a test failure.
      req.on("error", () => res.destroy());
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const received = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
        requests.push(received);
        for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(requests.slice());
        }
        Promise.resolve(responder(received, res)).catch((error: unknown) => {
          res.destroy(error instanceof Error ? error : new Error(String(error)));
        });
      });
    },
  );
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    requests,
    connections: () => connections,
    respondWith(next) {
      responder = next;
    },
    waitForRequests(count) {
      if (requests.length >= count) return Promise.resolve(requests.slice());
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
