// Reads manifests from files and folders (recursively, *.yaml and *.yml) for `mailhook validate`,
// `mailhook render` and standalone mode. A file that cannot be read or parsed is reported and the others
// are still loaded.
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Problem } from "../desired/problems.ts";
import { parseManifests, type ParsedManifests } from "./parse.ts";

export interface LoadedManifests extends ParsedManifests {
  /** Every file read, in the order read. */
  files: string[];
}

/** No manifest file is this large; refusing bigger ones bounds memory (a Secret is at most 1 MiB). */
export const maxManifestFileBytes = 8 * 1024 * 1024;

const manifestExtensions = new Set([".yaml", ".yml"]);

function unreadable(file: string, err: unknown): Problem {
  const code = (err as NodeJS.ErrnoException).code;
  return { reason: "Unreadable", message: `cannot read: ${code ?? (err as Error).message}`, file };
}

/**
 * Files under `path`: the file itself, or a folder's *.yaml / *.yml files, recursively and in name order.
 * Entries starting with "." are skipped: besides hidden files, that is how a mounted ConfigMap's
 * `..data` and timestamped folders are kept from being read twice. Symbolic links are followed (mounted
 * ConfigMap files are links).
 */
async function collect(path: string, files: string[], problems: Problem[], seen: Set<string>, explicit: boolean): Promise<void> {
  let info, real;
  try {
    info = await stat(path);
    real = await realpath(path);
  } catch (err) {
    problems.push(unreadable(path, err));
    return;
  }
  // A file or folder reached twice (named twice, or through a link) is read once.
  if (seen.has(real)) return;
  if (info.isFile()) {
    // A file named on the command line is read whatever its name, as kubectl does.
    if (explicit || manifestExtensions.has(extname(path).toLowerCase())) {
      seen.add(real);
      files.push(path);
    }
    return;
  }
  if (!info.isDirectory()) return;
  seen.add(real);
  let names: string[];
  try {
    names = (await readdir(path)).filter((n) => !n.startsWith(".")).sort();
  } catch (err) {
    problems.push(unreadable(path, err));
    return;
  }
  for (const name of names) await collect(join(path, name), files, problems, seen, false);
}

export async function loadManifests(paths: readonly string[]): Promise<LoadedManifests> {
  const out: LoadedManifests = { resources: [], secrets: [], ignored: [], problems: [], files: [] };
  const files: string[] = [];
  const seen = new Set<string>();
  for (const path of paths) await collect(path, files, out.problems, seen, true);

  for (const file of files) {
    let text: string;
    try {
      const info = await stat(file);
      if (info.size > maxManifestFileBytes) {
        out.problems.push({ reason: "Unreadable", message: `larger than ${maxManifestFileBytes} bytes`, file });
        continue;
      }
      text = await readFile(file, "utf8");
    } catch (err) {
      out.problems.push(unreadable(file, err));
      continue;
    }
    out.files.push(file);
    const parsed = parseManifests(text, file);
    out.resources.push(...parsed.resources);
    out.secrets.push(...parsed.secrets);
    out.ignored.push(...parsed.ignored);
    out.problems.push(...parsed.problems);
  }
  return out;
}
