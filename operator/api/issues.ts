// Turns zod issues into what a user fixing a manifest needs: the exact field (`spec.conditions[0].pattern`)
// and a short message in the API server's spirit. Messages never echo the offending value: it may be a
// credential.
import type { z } from "zod";

export interface FieldIssue {
  /** Path inside the object, e.g. ["spec", "conditions", 0, "pattern"]. */
  path: (string | number)[];
  message: string;
}

const typeNames: Record<string, string> = {
  int: "an integer",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  record: "an object",
};

function bound(iss: { origin: string; minimum?: unknown; maximum?: unknown }, word: "least" | "most"): string {
  const n = String(word === "least" ? iss.minimum : iss.maximum);
  if (iss.origin === "string") return `must be at ${word} ${n} characters`;
  if (iss.origin === "array") return `must have at ${word} ${n} items`;
  return `must be at ${word} ${n}`;
}

/** Messages for issues whose schema did not set its own (schema messages win over this map). */
const errorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type": {
      if (iss.input === undefined) return "is required";
      // z.int() reports a string input as "expected number"; the user needs to hear "integer".
      const isInt = (iss.inst as { format?: unknown } | undefined)?.format === "safeint";
      return `must be ${typeNames[isInt ? "int" : iss.expected] ?? iss.expected}`;
    }
    case "invalid_value":
      return iss.values.length === 1
        ? `must be ${JSON.stringify(iss.values[0])}`
        : `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      return bound(iss, "least");
    case "too_big":
      return bound(iss, "most");
    case "invalid_format":
      return "has an invalid format";
    case "invalid_key":
      return `is not a valid key: ${iss.issues[0]?.message ?? "invalid"}`;
    default:
      return undefined;
  }
};

/** `spec.conditions[0].pattern` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

export type ParseResult<T> = { success: true; data: T } | { success: false; issues: FieldIssue[] };

/** Parses with the messages above; every issue points at one field (unknown keys each get their own). */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): ParseResult<z.output<S>> {
  const result = schema.safeParse(value, { error: errorMap });
  if (result.success) return { success: true, data: result.data };
  const issues: FieldIssue[] = [];
  for (const iss of result.error.issues) {
    const path = iss.path.filter((p): p is string | number => typeof p !== "symbol");
    if (iss.code === "unrecognized_keys") {
      for (const key of iss.keys) issues.push({ path: [...path, key], message: "unknown field" });
    } else {
      issues.push({ path, message: iss.message });
    }
  }
  return { success: false, issues };
}
