// A small validator for the OpenAPI subset our CRDs use, applied the way the API server applies a
// structural schema: defaults first, then type, bounds, enum, pattern (RE2, like Go's regexp), required,
// and unknown fields refused (kubectl's default strict field validation). CEL rules are not evaluated:
// their TypeScript mirrors are tested against the zod schema instead.
import { RE2JS } from "re2js";

export type Schema = {
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A copy of `value` with the schema's defaults filled in, as the API server does on create. */
export function applyDefaults(schema: Schema, value: unknown): unknown {
  if (isObject(value) && schema.properties) {
    const out: Record<string, unknown> = { ...value };
    for (const [name, child] of Object.entries(schema.properties)) {
      if (out[name] === undefined && child.default !== undefined) out[name] = structuredClone(child.default);
      if (out[name] !== undefined) out[name] = applyDefaults(child, out[name]);
    }
    return out;
  }
  if (Array.isArray(value) && schema.items) return value.map((v) => applyDefaults(schema.items!, v));
  return value;
}

/** Errors as `path: message`; empty when the value is valid. */
export function validate(schema: Schema, value: unknown, path = ""): string[] {
  if (value === null) return schema.nullable ? [] : [`${path}: must not be null`];
  const errors: string[] = [];
  const typeOk =
    schema.type === "object" ? isObject(value)
    : schema.type === "array" ? Array.isArray(value)
    : schema.type === "integer" ? Number.isInteger(value)
    : schema.type === "number" ? typeof value === "number"
    : typeof value === schema.type;
  if (!typeOk) return [`${path}: must be of type ${schema.type}`];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: must be one of ${schema.enum.join(", ")}`);
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: above maximum`);
  }
  if (typeof value === "string") {
    const length = [...value].length; // Go counts runes
    if (schema.minLength !== undefined && length < schema.minLength) errors.push(`${path}: too short`);
    if (schema.maxLength !== undefined && length > schema.maxLength) errors.push(`${path}: too long`);
    if (schema.pattern !== undefined && !RE2JS.compile(schema.pattern).matcher(value).find()) errors.push(`${path}: does not match pattern`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${path}: too few items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${path}: too many items`);
    value.forEach((v, i) => errors.push(...validate(schema.items!, v, `${path}[${i}]`)));
  }
  if (isObject(value)) {
    for (const name of schema.required ?? []) if (value[name] === undefined) errors.push(`${path}.${name}: required`);
    for (const [name, v] of Object.entries(value)) {
      const child = schema.properties?.[name] ?? schema.additionalProperties;
      if (child === undefined) errors.push(`${path}.${name}: unknown field`);
      else errors.push(...validate(child, v, `${path}.${name}`));
    }
  }
  return errors;
}
