// The naive outbound relay that mailhook's outbound relaying is measured against: smtp-server (reverse
// lookup off, no TLS, no auth) → at the end of DATA, nodemailer's pooled SMTP transport sends the message
// as it came to the destination (the sink), and the client gets 250 only after the sink accepted it. No
// spool, no retry, no Received header, no VERP.
// With `events`, it also does what a naive implementation of delivery events does: every `queued` and
// `succeeded` event is POSTed on its own (undici, keep-alive TLS pool), in mailhook's version 2 JSON
// shape. Those posts never hold up the 250: the baseline gets the cheapest path the naive design allows.
// Run by the harness with fork(); argv: one OutboundBaselineJob as JSON. Reports its SMTP port when listening.
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";
import type { SMTPServerSession } from "smtp-server";
import { Pool } from "undici";
import { startNaiveServer, temporary } from "./plain-smtp.ts";
import type { OutboundBaselineJob } from "./protocol.ts";

const job = JSON.parse(process.argv[2] ?? "null") as OutboundBaselineJob | null;
if (job === null) throw new Error("naive outbound baseline: run by the bench harness with fork(<OutboundBaselineJob JSON>)");

// Same limits as mailhook's defaults: outbound.connections.maxPerDestination and maxMessagesPerConnection.
const transport = nodemailer.createTransport({
  host: "127.0.0.1",
  port: job.sinkPort,
  pool: true,
  maxConnections: 10,
  maxMessages: 100,
  name: "baseline.bench",
});

/** Posts each event alone; null without `events`. */
const postEvent = job.events === null ? null : eventPoster(job.events);

function eventPoster(events: NonNullable<OutboundBaselineJob["events"]>): (item: Record<string, string>) => void {
  const url = new URL(events.url);
  // Same connection count per origin as mailhook's default (endpoints.maxConnectionsPerOrigin).
  const pool = new Pool(url.origin, { connect: { ca: readFileSync(events.caFile) }, connections: 32, keepAliveTimeout: 60_000 });
  let failures = 0;
  return (item) => {
    const body = JSON.stringify({ server_composition: "bench", event_type: "deliveries", event: { deliveries: [item] } });
    pool
      .request({ path: url.pathname, method: "POST", headers: { "content-type": "application/json" }, body })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`endpoint answered ${res.statusCode}`);
      })
      .catch((err: unknown) => {
        // The harness reports the missing events; the first reason goes to stderr for its error message.
        if (failures++ === 0) process.stderr.write(`event post failed: ${String(err)}\n`);
      });
  };
}

/** The header fields an event item needs, unfolded; ASCII bench mail needs no MIME decoding. */
function headerFields(raw: Buffer): { subject: string; messageId: string; from: string } {
  const end = raw.indexOf("\r\n\r\n");
  const head = raw.toString("utf8", 0, end < 0 ? raw.length : end).replace(/\r\n[ \t]+/g, " ");
  const field = (pattern: RegExp) => pattern.exec(head)?.[1]?.trim() ?? "";
  return { subject: field(/^subject:(.*)$/im), messageId: field(/^message-id:(.*)$/im), from: field(/^from:(.*)$/im) };
}

function events(raw: Buffer, session: SMTPServerSession, status: "queued" | "succeeded"): void {
  if (postEvent === null) return;
  const fields = headerFields(raw);
  const created = new Date().toISOString().replace("T", " ").slice(0, 19);
  const returnPath = session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address;
  for (const rcpt of session.envelope.rcptTo) {
    postEvent({
      created,
      returnPath,
      from: fields.from,
      to: rcpt.address,
      messageId: fields.messageId,
      reason: "",
      // nodemailer does not say which local address it sent from.
      senderIp: "",
      sourceIp: status === "queued" ? (session.remoteAddress ?? "") : "",
      status,
      subject: fields.subject,
      apiData: "",
    });
  }
}

startNaiveServer("naive outbound baseline", (stream, session, callback) => {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", () => {
    const raw = Buffer.concat(chunks);
    const envelope = {
      from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
      to: session.envelope.rcptTo.map((r) => r.address),
    };
    events(raw, session, "queued");
    transport.sendMail({ envelope, raw }).then(
      () => {
        events(raw, session, "succeeded");
        callback();
      },
      (err: unknown) => callback(temporary("relaying failed", err)),
    );
  });
});
