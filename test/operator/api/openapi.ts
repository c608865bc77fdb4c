// A small validator for the OpenAPI subset our CRDs use, applied the way the API server applies a
// structural schema: defaults first, then type, bounds, enum, pattern (RE2, like Go's regexp), required,
// unknown fields refused (kubectl's default strict field validation), and the x-kubernetes-validations
// CEL rules, evaluated by a conformant CEL implementation with the functions of Kubernetes' URL library
// (the only library our rules use; a rule calling anything else fails as unbound, as it would not
// compile there), on values that passed the rest. Rules see integers as CEL ints, as the API server
// binds them.
import { celFunc, celMethod, CelScalar, isCelError, mapType, run } from "@bufbuild/cel";
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
  "x-kubernetes-validations"?: { rule: string; message?: string; fieldPath?: string }[];
};

/**
 * Go's url.ParseRequestURI as far as Kubernetes' CEL URL library shows it (scheme, hostname): throws
 * where Go returns an error. Control characters, a missing or malformed scheme, a path not starting
 * with "/", a non-numeric port and an unclosed IPv6 literal are errors; the hostname is the host
 * without port and brackets, the userinfo dropped.
 */
function goRequestUri(raw: string): { scheme: string; hostname: string } {
  if ([...raw].some((c) => c.charCodeAt(0) < 0x20 || c === "\x7f")) throw new Error("invalid control character in URL");
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(raw);
  if (scheme === null && raw.startsWith(":")) throw new Error("missing protocol scheme");
  const rest = (scheme === null ? raw : raw.slice(scheme[0].length)).split("?")[0] ?? "";
  if (!rest.startsWith("/")) throw new Error("invalid URI for request");
  if (scheme === null || !rest.startsWith("//")) return { scheme: scheme?.[1]?.toLowerCase() ?? "", hostname: "" };
  const authority = rest.slice(2).split("/")[0] ?? "";
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  const close = host.startsWith("[") ? host.indexOf("]") : -1;
  if (host.startsWith("[") && close === -1) throw new Error("missing ']' in host");
  const portAt = host.startsWith("[") ? close + 1 : host.includes(":") ? host.lastIndexOf(":") : host.length;
  if (!/^(:\d*)?$/.test(host.slice(portAt))) throw new Error("invalid port");
  return { scheme: scheme[1]!.toLowerCase(), hostname: host.startsWith("[") ? host.slice(1, close) : host.slice(0, portAt) };
}

const urlType = mapType(CelScalar.STRING, CelScalar.STRING);
const urlLibrary = [
  celFunc("isURL", [CelScalar.STRING], CelScalar.BOOL, (s) => {
    try {
      goRequestUri(s);
      return true;
    } catch {
      return false;
    }
  }),
  celFunc("url", [CelScalar.STRING], urlType, (s) => new Map(Object.entries(goRequestUri(s)))),
  celMethod("getScheme", urlType, [], CelScalar.STRING, function () {
    return this.get("scheme") as string;
  }),
  celMethod("getHostname", urlType, [], CelScalar.STRING, function () {
    return this.get("hostname") as string;
  }),
];

/** The value as the API server hands it to CEL: integer fields as ints (bigint here). */
function celValue(schema: Schema, value: unknown): unknown {
  if (schema.type === "integer" && typeof value === "number") return BigInt(value);
  if (Array.isArray(value)) return value.map((v) => celValue(schema.items ?? {}, v));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, celValue(schema.properties?.[k] ?? schema.additionalProperties ?? {}, v)]));
  }
  return value;
}

/** Errors of the node's CEL rules: `path: message` for a rule that is false, `path: CEL error …` for one that fails. */
function celErrors(schema: Schema, value: unknown, path: string): string[] {
  const errors: string[] = [];
  for (const { rule, message, fieldPath } of schema["x-kubernetes-validations"] ?? []) {
    const result = run(rule, { self: celValue(schema, value) as never }, { funcs: urlLibrary });
    if (isCelError(result)) errors.push(`${path}: CEL error in ${JSON.stringify(rule)}: ${result.message}`);
    else if (result !== true) errors.push(`${path}${fieldPath ?? ""}: ${message ?? `failed rule: ${rule}`}`);
  }
  return errors;
}

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
  // Rules are checked on values of the schema's shape (a CEL int cannot hold 60.5).
  return errors.length > 0 ? errors : celErrors(schema, value, path);
}
