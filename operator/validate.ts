// Manifest files → the operator's build, with every problem found on the way: what `mailhook validate`
// reports and what standalone mode loads. The I/O half of the pure build.
import { build, type BuildResult, type BuildSettings } from "./desired/build.ts";
import { compareProblems, type Problem } from "./desired/problems.ts";
import { loadManifests, type LoadedManifests } from "./manifests/load.ts";

export interface ValidationReport {
  manifests: LoadedManifests;
  result: BuildResult;
  /** Problems from reading the files and from the build, in file and line order. */
  problems: Problem[];
}

export async function validateFiles(paths: readonly string[], settings?: BuildSettings): Promise<ValidationReport> {
  const manifests = await loadManifests(paths);
  const result = build(manifests.resources, manifests.secrets, settings);
  const problems = [...manifests.problems, ...result.problems].sort(compareProblems);
  return { manifests, result, problems };
}
