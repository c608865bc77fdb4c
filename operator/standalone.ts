// Standalone mode: the operator's build fed from manifest files instead of the API server. Watches the
// files and folders, rebuilds on every change and hands the relay a finished WebhookSet.
//
// Reload rules (docs/standalone.md):
// - an invalid resource is skipped and reported; the others are applied (as in a cluster);
// - a file that cannot be read or parsed (an editor half-way through a save, a YAML syntax error)
//   keeps the last good configuration in force, so webhooks never vanish because of a torn write:
//   their mail would otherwise be refused until the next save;
// - a configuration equal to the one in force is not applied again.
import { watch, type FSWatcher } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { WebhookSet } from "../relay/config/schema.ts";
import type { Logger } from "../relay/log.ts";
import { formatProblem, type Problem } from "./desired/problems.ts";
import { validateFiles } from "./validate.ts";

export type ReloadOutcome = "applied" | "unchanged" | "failed";

export interface ManifestSourceOptions {
  readonly paths: readonly string[];
  readonly logger: Logger;
  /** Receives every configuration to put in force. */
  readonly apply: (set: WebhookSet, invalidResources: number) => void;
  readonly onReload?: (outcome: ReloadOutcome) => void;
  /** Quiet time after the last file event before reloading (editors write in several steps). */
  readonly debounceMs?: number;
}

export interface ManifestSource {
  /** Loads now; resolves once the result was applied (or kept out). */
  reload(): Promise<ReloadOutcome>;
  close(): void;
}

// A problem without an object key is about a whole file (unreadable, not YAML, not an object).
const fileLevel = new Set<Problem["reason"]>(["Unreadable", "InvalidManifest"]);

export async function watchManifests(options: ManifestSourceOptions): Promise<ManifestSource> {
  const log = options.logger.child({ component: "manifests" });
  let current: WebhookSet | undefined;
  let reporting = "";
  let running: Promise<ReloadOutcome> | undefined;
  let again = false;

  const load = async (): Promise<ReloadOutcome> => {
    const { result, problems } = await validateFiles(options.paths);
    const report = problems.map(formatProblem).join("\n");
    if (report !== reporting) {
      for (const p of problems) log.error("manifest problem", { problem: formatProblem(p), reason: p.reason });
      reporting = report;
    }
    if (current !== undefined && problems.some((p) => p.key === undefined && fileLevel.has(p.reason))) {
      log.warn("manifests could not all be read; keeping the configuration in force", { problems: problems.length });
      return "failed";
    }
    if (current !== undefined && isDeepStrictEqual(current, result.webhooks)) return "unchanged";
    current = result.webhooks;
    const invalid = new Set(problems.filter((p) => p.key !== undefined && p.kind !== "Secret").map((p) => `${p.kind}/${p.key}`)).size;
    options.apply(result.webhooks, invalid);
    log.info("webhook configuration applied", { inbound: result.webhooks.inbound.length, invalid });
    return "applied";
  };

  // One load at a time; changes during a load cause exactly one more.
  const reload = (): Promise<ReloadOutcome> => {
    if (running) {
      again = true;
      return running;
    }
    running = load()
      .catch((err: unknown) => {
        log.error("manifest reload failed; keeping the configuration in force", { err });
        return "failed" as const;
      })
      .then((outcome) => {
        options.onReload?.(outcome);
        running = undefined;
        if (again) {
          again = false;
          void reload();
        }
        return outcome;
      });
    return running;
  };

  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), options.debounceMs ?? 200);
  };

  const watchers: FSWatcher[] = [];
  for (const path of options.paths.map((p) => resolve(p))) {
    // A file is watched through its folder: editors and Kubernetes volume updates replace files by
    // rename, which a watch on the file itself would lose.
    const isDir = (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
    const dir = isDir ? path : dirname(path);
    const name = basename(path);
    const watcher = watch(dir, { recursive: isDir, persistent: false }, (_event, file) => {
      if (isDir || file === null || file === name || file.startsWith("..")) changed();
    });
    watcher.on("error", (err) => log.warn("cannot watch manifests; edits need a restart", { path, err }));
    watchers.push(watcher);
  }

  await reload();
  return {
    reload,
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
