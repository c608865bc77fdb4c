// What is wrong with the user's resources, precisely enough to fix it without guessing: where (file and
// line when the object came from a file), which object, which field, why. Pure.

/** Where an object came from when it was read from a manifest file (absent for objects from the cluster). */
export interface Source {
  file: string;
  /** 0-based position of the YAML document in its file. */
  index: number;
  /** 1-based line where the document (or List item) starts. */
  line: number;
  /** 1-based line of a field in the document, or of its closest parent that exists. */
  lineAt?: (path: readonly (string | number)[]) => number;
}

/** An object to build from: a parsed manifest document or an object read from the API server. */
export interface SourcedObject {
  object: unknown;
  source?: Source;
}

/**
 * Stable reasons; callers branch on these. For a webhook, the reason is also its Ready condition's reason.
 * - Unreadable: a path could not be read.
 * - InvalidManifest: not a Kubernetes object (YAML error, no kind, unknown mailhook.dev kind), or a Secret
 *   the API server would reject.
 * - InvalidSpec: a webhook fails the schema (the CRD, or checks the operator adds: RE2 syntax, a known time zone).
 * - SecretNotFound: a referenced Secret or key does not exist (or the Secret is itself invalid).
 * - InvalidSecret: the referenced value is unusable (e.g. a signing secret that is not `whsec_…`).
 * - Duplicate: a second object with the same kind and namespace/name; the first one wins.
 */
export type ProblemReason = "Unreadable" | "InvalidManifest" | "InvalidSpec" | "SecretNotFound" | "InvalidSecret" | "Duplicate";

export interface Problem {
  reason: ProblemReason;
  /** Never contains a Secret value. */
  message: string;
  file?: string;
  line?: number;
  /** Kind of the object concerned, e.g. InboundWebhook or Secret. */
  kind?: string;
  /** `namespace/name` of the object concerned. */
  key?: string;
  /** Field path inside the object, e.g. `spec.conditions[0].pattern`. */
  field?: string;
}

/** File and line of a field of a sourced object. */
export function locate(source: Source | undefined, path: readonly (string | number)[]): Pick<Problem, "file" | "line"> {
  if (source === undefined) return {};
  return { file: source.file, line: source.lineAt?.(path) ?? source.line };
}

/** `file:line: Kind namespace/name: field: message`, leaving out the parts that are unknown. */
export function formatProblem(p: Problem): string {
  const parts: string[] = [];
  if (p.file !== undefined) parts.push(p.line === undefined ? p.file : `${p.file}:${p.line}`);
  const object = [p.kind, p.key].filter((s) => s !== undefined).join(" ");
  if (object !== "") parts.push(object);
  if (p.field !== undefined && p.field !== "") parts.push(p.field);
  parts.push(p.message);
  return parts.join(": ");
}

/** Orders problems by file and line; problems without a file (from the cluster) by object. Stable. */
export function compareProblems(a: Problem, b: Problem): number {
  if (a.file !== b.file) {
    if (a.file === undefined) return 1;
    if (b.file === undefined) return -1;
    return a.file < b.file ? -1 : 1;
  }
  if ((a.line ?? 0) !== (b.line ?? 0)) return (a.line ?? 0) - (b.line ?? 0);
  if (a.file === undefined && a.key !== b.key) return (a.key ?? "") < (b.key ?? "") ? -1 : 1;
  return 0;
}
