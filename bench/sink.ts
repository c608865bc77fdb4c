// The destination server of the outbound scenarios: smtp-server (reverse lookup off, no TLS, no auth)
// that answers 250 to every message and reports the first receipt time of each message token (found in
// the header, where Subject and Message-ID carry it) to the harness, like the receiver does for posts.
// Run by the harness with fork(); no arguments.
import { performance } from "node:perf_hooks";
import { SMTPServer } from "smtp-server";
import { plainSmtpOptions } from "./plain-smtp.ts";
import { harnessChannel, listenAndAnnounce, ReceiptReporter } from "./receipt-reporter.ts";

const send = harnessChannel("sink");
const reporter = new ReceiptReporter(send);
/** The token is in the header: no need to scan a 100 KB body for it. */
const scanBytes = 16 * 1024;

const server = new SMTPServer({
  ...plainSmtpOptions,
  maxClients: 10_000,
  onData(stream, _session, callback) {
    let head = "";
    stream.on("data", (chunk: Buffer) => {
      if (head.length < scanBytes) head += chunk.toString("latin1", 0, Math.min(chunk.length, scanBytes - head.length));
    });
    stream.on("end", () => {
      const at = performance.timeOrigin + performance.now();
      reporter.mail(head, at);
      callback(null, "queued");
    });
  },
});

// A client that goes away mid-session is smtp-server's 'error' event: not a reason to exit.
server.on("error", () => undefined);
listenAndAnnounce(server.server, send);
