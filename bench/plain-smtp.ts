// smtp-server as the bench's own servers run it (the naive baselines and the sink): reverse lookup off, no
// TLS, no auth, no logging. For the baselines also a 451 for whatever went wrong after the data arrived,
// and the start-up handshake with the harness.
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { harnessChannel, listenAndAnnounce } from "./receipt-reporter.ts";

export const plainSmtpOptions = {
  disableReverseLookup: true,
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  size: 26_214_400,
} as const satisfies SMTPServerOptions;

export class TemporaryFailure extends Error {
  responseCode = 451;
}

/** A 451 for `err`, however it was thrown. */
export const temporary = (what: string, err: unknown): TemporaryFailure =>
  err instanceof TemporaryFailure ? err : new TemporaryFailure(`${what}: ${String(err)}`);

/** Listens on an OS-chosen loopback port, tells the harness, and exits when the harness goes away. */
export function startNaiveServer(what: string, onData: NonNullable<SMTPServerOptions["onData"]>): SMTPServer {
  const send = harnessChannel(what);
  const server = new SMTPServer({ ...plainSmtpOptions, onData });
  // A client that goes away mid-session is smtp-server's 'error' event: not a reason to exit.
  server.on("error", () => undefined);
  // Exit normally when stopped, so that a --cpu-prof run (BENCH_PROFILE_DIR) writes its profile.
  process.once("SIGTERM", () => process.exit(0));
  listenAndAnnounce(server.server, send);
  return server;
}
