// One manifest file's text → Kubernetes objects with their source (file, document, line), sorted into
// ours (mailhook.dev), Secrets, and everything else (ignored, not an error). Pure.
//
// YAML is read the way kubectl reads it (Go's yaml.v2: YAML 1.1, so `yes`/`no`/`on`/`off` are booleans and
// merge keys work, but timestamps and base-60 numbers like 1:20 stay strings), so offline validation sees
// the values the cluster sees.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Tags } from "yaml";
import { group } from "../api/common.ts";
import type { Problem, Source, SourcedObject } from "../desired/problems.ts";

export interface ManifestDocument extends SourcedObject {
  source: Source;
  apiVersion: string;
  kind: string;
}

/** A Kubernetes object of a kind mailhook does not handle. */
export interface IgnoredDocument {
  file: string;
  line: number;
  apiVersion: string;
  kind: string;
  name?: string;
}

export interface ParsedManifests {
  /** Objects of the mailhook.dev group, whatever their kind (the build checks the kind). */
  resources: ManifestDocument[];
  secrets: ManifestDocument[];
  ignored: IgnoredDocument[];
  problems: Problem[];
}

/** Limits a hostile or broken file cannot exceed (alias expansion is what makes "billion laughs" cheap). */
const maxAliasCount = 100;
const maxMessageLength = 200;

const likeKubectl = (tags: Tags) =>
  tags.filter((t) => typeof t === "string" || (t.tag !== "tag:yaml.org,2002:timestamp" && t.format !== "TIME"));

/** 1-based line of the field at `path`, or of its closest existing parent. */
function lineOf(doc: Document, lines: LineCounter, path: readonly (string | number)[]): number {
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined || !isScalar(pair.key)) break;
      offset = pair.key.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment];
      if (!isMap(item) && !isSeq(item) && !isScalar(item)) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return lines.linePos(offset).line;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseManifests(text: string, file: string): ParsedManifests {
  const out: ParsedManifests = { resources: [], secrets: [], ignored: [], problems: [] };
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { version: "1.1", customTags: likeKubectl, lineCounter: lines, prettyErrors: false, uniqueKeys: true });

  docs.forEach((doc, index) => {
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const problem = (line: number, message: string): Problem => ({ reason: "InvalidManifest", message, file, line });
    const [error] = doc.errors;
    if (error !== undefined) {
      // The first error only (the others tend to follow from it), and its message only: a pretty error
      // would quote the source line, which may hold a Secret value.
      out.problems.push(problem(lines.linePos(error.pos[0]).line, `YAML: ${error.message.slice(0, maxMessageLength)}`));
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount });
    } catch (err) {
      out.problems.push(problem(lines.linePos(start).line, `YAML: ${(err as Error).message.slice(0, maxMessageLength)}`));
      return;
    }
    if (value === null || value === undefined) return; // an empty document, e.g. after a trailing `---`

    const add = (object: unknown, base: (string | number)[]) => {
      const line = lineOf(doc, lines, base);
      if (!isPlainObject(object)) {
        out.problems.push(problem(line, "not a Kubernetes object: expected a mapping with apiVersion and kind"));
        return;
      }
      const { apiVersion, kind } = object;
      if (typeof apiVersion !== "string" || typeof kind !== "string" || apiVersion === "" || kind === "") {
        out.problems.push(problem(line, "not a Kubernetes object: apiVersion and kind are required"));
        return;
      }
      // `kind: List` (and kubectl's other *List kinds) holds objects in items; apply them one by one.
      if (kind.endsWith("List") && Array.isArray(object.items)) {
        object.items.forEach((item, i) => add(item, [...base, "items", i]));
        return;
      }
      const source: Source = { file, index, line, lineAt: (path) => lineOf(doc, lines, [...base, ...path]) };
      const document = { object, source, apiVersion, kind };
      if (apiVersion.split("/")[0] === group) out.resources.push(document);
      else if (apiVersion === "v1" && kind === "Secret") out.secrets.push(document);
      else {
        const name = isPlainObject(object.metadata) && typeof object.metadata.name === "string" ? object.metadata.name : undefined;
        out.ignored.push({ file, line, apiVersion, kind, ...(name !== undefined && { name }) });
      }
    };
    add(value, []);
  });
  return out;
}
