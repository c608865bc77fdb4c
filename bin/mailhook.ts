#!/usr/bin/env node
// The `mailhook` command (SPEC section 4). Composition lives here: standalone mode feeds the operator's
// build from manifest files into an in-process relay, so the relay never imports the operator.
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { validateFiles } from "../operator/validate.ts";
import { runValidate } from "../operator/validate-command.ts";
import { watchManifests } from "../operator/standalone.ts";
import { runBounce } from "../relay/bounce/bounce-command.ts";
import { ConfigError, loadRelaySettings } from "../relay/config/load.ts";
import { createLogger } from "../relay/log.ts";
import { Relay } from "../relay/relay.ts";

const usage = `usage:
  mailhook relay --config relay.yaml --manifests PATH [--manifests PATH ...]
      run the relay; webhooks and Secrets come from YAML manifests (files or folders), reloaded on change
  mailhook validate PATH ...
      check manifests offline exactly as the cluster and the operator would
  mailhook render PATH ...
      print the relay's webhook configuration built from manifests (Secret values redacted)
  mailhook bounce FILE ...
      analyse bounce mails as the relay does; one JSON object per file per line
`;

async function relayCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: "string" }, manifests: { type: "string", multiple: true } },
    strict: true,
  });
  if (values.config === undefined) throw new UsageError("relay: --config is required");
  if (values.manifests === undefined || values.manifests.length === 0) {
    // Cluster mode (webhooks from the operator) arrives with the operator; until then the relay runs
    // standalone only, and says so rather than starting with no webhooks.
    throw new UsageError("relay: --manifests is required (the operator-fed cluster mode is not available yet)");
  }
  const settings = await loadRelaySettings(values.config);
  // Every mail passes through the relay's heaps as buffers (external memory) that die young, yet V8
  // sized the old generation so tightly around the ~30 MB that lives there that it marked it several
  // times a second: a quarter of the CPU on ~100 KB mail. Letting the heap grow 2.5x its live size
  // before the next full collection took large mail from 1.28 to 0.96 CPU ms/msg, peak RSS unchanged
  // within run-to-run noise (docs/performance.md). V8 reads this flag at every collection, in every
  // thread's isolate.
  setFlagsFromString("--heap-growing-percent=150");
  const logger = createLogger(settings.log.level);
  const relay = await Relay.start(settings, { logger });
  const source = await watchManifests({
    paths: values.manifests,
    logger,
    apply: (set, invalid) => {
      relay.applyWebhooks(set);
      relay.metrics.invalidWebhooks.set(invalid);
    },
    onReload: (outcome) => relay.metrics.configReloads.inc({ outcome }),
  });

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info("shutting down", { signal });
      resolve();
    };
    process.once("SIGTERM", shutdown);
    process.once("SIGINT", shutdown);
  });
  source.close();
  await relay.stop();
  logger.info("relay stopped");
  return 0;
}

async function renderCommand(paths: string[]): Promise<number> {
  if (paths.length === 0) throw new UsageError("render: at least one PATH is required");
  const { result, problems } = await validateFiles(paths);
  // Secret values never leave the process: only which credentials are set is shown.
  const redact = <T extends { auth: object }>(w: T) => ({ ...w, auth: Object.fromEntries(Object.keys(w.auth).map((k) => [k, "<redacted>"])) });
  const redacted = { inbound: result.webhooks.inbound.map(redact), event: result.webhooks.event.map(redact) };
  process.stdout.write(JSON.stringify(redacted, null, 2) + "\n");
  if (problems.length > 0) process.stderr.write(`${problems.length} problem(s) left resources out; run mailhook validate\n`);
  return problems.length > 0 ? 1 : 0;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "relay":
      return relayCommand(rest);
    case "validate":
      return runValidate(rest, process);
    case "render":
      return renderCommand(rest);
    case "bounce":
      return runBounce(rest, process);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    process.stderr.write(`mailhook: ${(err as Error).message}\n\n${usage}`);
    process.exitCode = 2;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`mailhook: invalid configuration:\n${err.message}\n`);
    process.exitCode = 1;
  } else {
    const e = err as Error & { code?: string };
    process.stderr.write(`mailhook: ${e.code ? `${e.code}: ` : ""}${e.message}\n`);
    process.exitCode = 1;
  }
}
