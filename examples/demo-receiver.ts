// A small HTTPS endpoint for the local demo: prints every inbound webhook post it receives, and
// checks the Standard Webhooks signature when it knows the signing secret.
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";

const tlsDir = new URL("../test/fixtures/tls/", import.meta.url);

export async function startDemoReceiver(port: number, signingSecret?: string, print = console.log): Promise<Server & { port: number }> {
  const server = createServer(
    { cert: readFileSync(new URL("localhost.crt", tlsDir)), key: readFileSync(new URL("localhost.key", tlsDir)) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("error", () => res.destroy());
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        void describe(req.url ?? "/", req.headers, body, signingSecret).then((text) => {
          print(text);
          res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
        });
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

async function describe(path: string, headers: Record<string, string | string[] | undefined>, body: Buffer, signingSecret?: string): Promise<string> {
  const contentType = String(headers["content-type"] ?? "");
  const fields: Record<string, string> = {};
  if (contentType.startsWith("application/json")) {
    for (const [k, v] of Object.entries(JSON.parse(body.toString("utf8")) as Record<string, unknown>)) fields[k] = typeof v === "string" ? v : JSON.stringify(v);
  } else {
    const form = await new Response(body, { headers: { "content-type": contentType } }).formData();
    for (const [k, v] of form) fields[k] = typeof v === "string" ? v : `<file ${v.name}, ${v.size} bytes, ${v.type}>`;
  }
  const signature = signingSecret ? verifySignature(signingSecret, headers, body) : "not checked";
  const lines = [`\n── POST ${path}  webhook-id=${String(headers["webhook-id"])}  signature: ${signature}`];
  for (const [k, v] of Object.entries(fields)) {
    if (k === "event") {
      // An EventWebhook batch: one line per event.
      for (const items of Object.values(JSON.parse(v) as Record<string, Record<string, unknown>[]>)) {
        for (const e of items) lines.push(`   event              ${[e.created, e.status, e.to ?? e.envelopeTo, e.errorStatus ?? "", e.reason].map(String).join("  ")}`);
      }
      continue;
    }
    lines.push(`   ${k.padEnd(18)} ${v.length > 200 ? v.slice(0, 200) + "…" : v}`);
  }
  return lines.join("\n");
}

/**
 * Standard Webhooks verification over the raw body bytes: HMAC-SHA256 of `id.timestamp.body` with the
 * base64-decoded secret, compared with each `v1,` signature the header lists (several during rotation).
 */
function verifySignature(secret: string, headers: Record<string, string | string[] | undefined>, body: Buffer): string {
  const [id, timestamp, header] = ["webhook-id", "webhook-timestamp", "webhook-signature"].map((h) => String(headers[h] ?? ""));
  if (!header) return "MISSING";
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
  const valid = header.split(" ").some((s) => {
    const given = Buffer.from(s.replace(/^v1,/, ""), "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return valid ? "valid" : "INVALID";
}
