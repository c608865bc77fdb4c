// Writes crds/<plural>.mailhook.dev.yaml for every kind in operator/api/kinds.ts (`npm run gen`).
// The CRDs are generated, never edited: the zod schemas are the source.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { crdName, renderCrd } from "../operator/api/crd.ts";
import { kinds } from "../operator/api/kinds.ts";

export const crdsDir = join(import.meta.dirname, "..", "crds");

/** File name → content, for every generated CRD. */
export function renderCrds(): Map<string, string> {
  return new Map(kinds.map((def) => [`${crdName(def)}.yaml`, renderCrd(def)]));
}

if (import.meta.main) {
  for (const [file, text] of renderCrds()) {
    await writeFile(join(crdsDir, file), text);
    console.log(`wrote crds/${file}`);
  }
}
