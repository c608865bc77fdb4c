// Who an object is (`namespace/name`) before it is known to be valid, so that even a broken object's
// problems name it, and the rule for two objects claiming the same name. Pure.
import { locate, type Problem, type Source } from "./problems.ts";

export interface Identity {
  /** `namespace/name`, or undefined when the object has no usable name. */
  key: string | undefined;
  namespace: string;
}

/** The namespace defaults as with `kubectl apply`: a manifest without one (or with "") lands in the current one. */
export function identify(object: unknown, defaultNamespace: string): Identity {
  const metadata = (object as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const namespace = typeof metadata?.namespace === "string" && metadata.namespace !== "" ? metadata.namespace : defaultNamespace;
  const key = typeof metadata?.name === "string" && metadata.name !== "" ? `${namespace}/${metadata.name}` : undefined;
  return { key, namespace };
}

/**
 * Remembers the first object of each key. A later one with the same key is a Duplicate and is skipped, so
 * adding a stray copy never takes down the webhook that already works.
 */
export class FirstClaims {
  #kind: string;
  #first = new Map<string, Source | undefined>();

  constructor(kind: string) {
    this.#kind = kind;
  }

  /** Undefined when `key` is new (and now claimed); otherwise the Duplicate problem. */
  claim(key: string, source: Source | undefined): Problem | undefined {
    if (!this.#first.has(key)) {
      this.#first.set(key, source);
      return undefined;
    }
    const first = this.#first.get(key);
    const where = first === undefined ? "" : ` at ${first.file}:${first.line}`;
    return {
      reason: "Duplicate",
      message: `already defined${where}; this copy is ignored`,
      ...locate(source, ["metadata", "name"]),
      kind: this.#kind,
      key,
      field: "metadata.name",
    };
  }
}
