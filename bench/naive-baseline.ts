// The naive baseline of SPEC section 6, the yardstick mailhook is measured against: smtp-server (reverse
// lookup off, no TLS, no auth) → mailparser's simpleParser → the seed's JSON body → undici request over
// a keep-alive TLS pool, answering 250 only after the POST got a 2xx. No spool, no retry, no matching.
// Run by the harness with fork(); argv: <endpointUrl> <caFile>. Reports its SMTP port when listening.
import { readFileSync } from "node:fs";
import { simpleParser } from "mailparser";
import { Pool } from "undici";
import { startNaiveServer, temporary, TemporaryFailure } from "./plain-smtp.ts";

const [endpoint, caFile] = process.argv.slice(2);
if (endpoint === undefined || caFile === undefined) {
  throw new Error("naive baseline: run by the bench harness with fork(<endpointUrl> <caFile>)");
}
const url = new URL(endpoint);
// Same connection count per origin as mailhook's default (endpoints.maxConnectionsPerOrigin).
const pool = new Pool(url.origin, { connect: { ca: readFileSync(caFile) }, connections: 32, keepAliveTimeout: 60_000 });

startNaiveServer("naive baseline", (stream, session, callback) => {
  simpleParser(stream)
    .then(async (mail) => {
      for (const rcpt of session.envelope.rcptTo) {
        const body = JSON.stringify({
          server_composition: "bench",
          filter: "bench",
          headers: mail.headerLines.map(({ line }) => {
            const colon = line.indexOf(":");
            return { name: line.slice(0, colon), value: line.slice(colon + 1).replace(/\r?\n[ \t]+/g, " ").trim() };
          }),
          text: mail.text ?? "",
          html: mail.html === false ? "" : mail.html,
          subject: mail.subject ?? "",
          "envelope-from": session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          "envelope-to": rcpt.address,
          attachments: mail.attachments.length,
        });
        const res = await pool.request({ path: url.pathname, method: "POST", headers: { "content-type": "application/json" }, body });
        await res.body.dump();
        if (res.statusCode < 200 || res.statusCode > 299) throw new TemporaryFailure(`endpoint answered ${res.statusCode}`);
      }
    })
    .then(
      () => callback(),
      (err: unknown) => callback(temporary("post failed", err)),
    );
});
