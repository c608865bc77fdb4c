// zod schema → apiextensions.k8s.io/v1 CustomResourceDefinition. Pure: scripts/gen-crds.ts writes the
// result to crds/, and a test regenerates it to catch drift.
//
// z.toJSONSchema (OpenAPI 3.0 flavour, input side so defaulted fields are optional) does most of the work;
// this module turns its output into a *structural* schema the API server accepts, and fails loudly on any
// construct Kubernetes would reject ($ref, anyOf, …) instead of writing a CRD that `kubectl apply` refuses.
import { stringify } from "yaml";
import { z } from "zod";
import { group, version, type KindDefinition } from "./common.ts";

type Schema = Record<string, unknown>;

/** JSONSchemaProps fields a structural schema may use (apiextensions.k8s.io/v1). */
const allowedKeywords = new Set([
  "type",
  "format",
  "description",
  "title",
  "default",
  "enum",
  "nullable",
  "example",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "required",
  "properties",
  "items",
  "additionalProperties",
]);

const unbounded = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

function isObject(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One schema node, made structural; `at` names it in errors. */
function structural(node: Schema, at: string): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema") continue;
    if (!allowedKeywords.has(key) && !key.startsWith("x-kubernetes-")) {
      throw new Error(`${at}: "${key}" is not allowed in a structural CRD schema`);
    }
    // zod bounds every z.int() by the safe-integer range; Kubernetes needs no such bound.
    if ((key === "minimum" || key === "maximum") && unbounded.has(value as number)) continue;
    // Unknown fields are pruned or refused by the API server itself; `false` beside properties is invalid.
    if (key === "additionalProperties" && value === false) continue;
    out[key] = value;
  }
  if (typeof out.type !== "string") throw new Error(`${at}: every node of a structural schema needs a type`);
  // The API server validates format date-time itself; zod's equivalent pattern would only add noise.
  if (out.format === "date-time") delete out.pattern;
  if (isObject(out.properties)) {
    if (out.additionalProperties !== undefined) throw new Error(`${at}: properties and additionalProperties are mutually exclusive`);
    const properties: Schema = {};
    for (const [name, child] of Object.entries(out.properties)) properties[name] = structural(child as Schema, `${at}.${name}`);
    out.properties = properties;
  }
  if (isObject(out.items)) out.items = structural(out.items, `${at}[]`);
  if (isObject(out.additionalProperties)) out.additionalProperties = structural(out.additionalProperties, `${at}.*`);
  for (const rule of (out["x-kubernetes-validations"] as { message?: string }[] | undefined) ?? []) {
    if (rule.message?.includes("\n")) throw new Error(`${at}: a CEL rule message must be one line`);
  }
  return out;
}

function openApi(schema: z.ZodType, at: string, description: string): Schema {
  const json = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", cycles: "throw", reused: "inline" });
  return { description, ...structural(json, at) };
}

/** Keys sorted for byte-stable output, except property names, which keep the schema's reading order. */
function sortKeys(value: unknown, isPropertyMap = false): unknown {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v));
  if (!isObject(value)) return value;
  const keys = isPropertyMap ? Object.keys(value) : Object.keys(value).sort();
  return Object.fromEntries(keys.map((k) => [k, sortKeys(value[k], !isPropertyMap && k === "properties")]));
}

export function crdName(def: KindDefinition): string {
  return `${def.plural}.${group}`;
}

export function toCrd(def: KindDefinition): Schema {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: crdName(def), labels: { "app.kubernetes.io/part-of": "mailhook" } },
    spec: {
      group,
      scope: "Namespaced",
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: [...def.shortNames],
        categories: ["mailhook"],
      },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: def.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string", description: "API version of this object: mailhook.dev/v1alpha1." },
                kind: { type: "string", description: `Kind of this object: ${def.kind}.` },
                metadata: { type: "object" },
                spec: openApi(def.spec, "spec", `Desired state of the ${def.kind}.`),
                status: openApi(def.status, "status", `Observed state, written by mailhook.`),
              },
            },
          },
        },
      ],
    },
  };
  return sortKeys(crd) as Schema;
}

/** The CRD as the YAML file checked into crds/. */
export function renderCrd(def: KindDefinition): string {
  const header = [
    `# ${crdName(def)}: GENERATED by scripts/gen-crds.ts (npm run gen) from the zod schemas in operator/api/.`,
    "# Do not edit: change the schema and regenerate; test/scripts/gen-crds.test.ts fails when this file is stale.",
  ].join("\n");
  return `${header}\n${stringify(toCrd(def), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
