// Building blocks shared by the mailhook.dev kinds (InboundWebhook, EventWebhook): object
// metadata, Secret references, the https endpoint, and the status both kinds report.
// These zod schemas are the single source: the TypeScript types come from them, the CRDs are generated
// from them (operator/api/crd.ts), and `mailhook validate` checks manifests with them.
import { z } from "zod";

export const group = "mailhook.dev";
export const version = "v1alpha1";
export const apiVersion = `${group}/${version}`;

/**
 * A CEL rule for the CRD (`x-kubernetes-validations`) together with the same rule in TypeScript, so
 * offline validation rejects exactly what the API server rejects. Keep the two sides equivalent.
 */
export interface CelRule<T> {
  rule: string;
  message: string;
  /** For a rule on an object that is really about one field: where the API server reports it (`.field`). */
  fieldPath?: string;
  check: (value: T) => boolean;
}

export function withCel<S extends z.ZodType>(schema: S, rules: readonly CelRule<z.output<S>>[]): S {
  let checked = schema;
  for (const r of rules) {
    const path = r.fieldPath === undefined ? undefined : r.fieldPath.slice(1).split(".");
    checked = checked.refine((v) => r.check(v), { message: r.message, ...(path && { path }) });
  }
  const validations = rules.map(({ rule, message, fieldPath }) => ({ rule, message, ...(fieldPath !== undefined && { fieldPath }) }));
  return checked.meta({ "x-kubernetes-validations": validations });
}

/** An integer in a closed range, with the message users see for both bounds. */
export function intRange(min: number, max: number) {
  const message = `must be between ${min} and ${max}`;
  return z.int().min(min, message).max(max, message);
}

const dnsLabelPattern = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

/** RFC 1123 subdomain: what Kubernetes requires of object names (ours and Secrets). */
export const dnsSubdomain = z
  .string()
  .max(253, "must be at most 253 characters")
  .regex(
    new RegExp(`^${dnsLabelPattern}(\\.${dnsLabelPattern})*$`),
    "must be a lowercase RFC 1123 subdomain: a-z, 0-9, '-' and '.', starting and ending with a letter or digit",
  );

/** RFC 1123 label: what Kubernetes requires of namespace names. */
export const dnsLabel = z
  .string()
  .max(63, "must be at most 63 characters")
  .regex(new RegExp(`^${dnsLabelPattern}$`), "must be a lowercase RFC 1123 label: a-z, 0-9 and '-', starting and ending with a letter or digit");

/**
 * The metadata this project reads. Everything else (labels, uid, managedFields, …) is the API server's
 * business and passes through untouched.
 */
/** A whole object of one of our kinds, as read from a manifest file or the API server. */
export function resourceSchema<K extends string, S extends z.ZodType>(kind: K, spec: S) {
  return z.strictObject({
    apiVersion: z.literal(apiVersion),
    kind: z.literal(kind),
    metadata: objectMeta,
    spec,
    // The API server ignores status written with the main resource (status subresource), so do we.
    status: z.unknown().optional(),
  });
}

export const objectMeta = z.looseObject({
  name: dnsSubdomain,
  /** Absent (or "") in many manifest files: `kubectl apply` then uses the current namespace. */
  namespace: z.preprocess((v) => (v === "" ? undefined : v), dnsLabel.optional()),
  generation: z.int().min(0).optional(),
});
export type ObjectMeta = z.output<typeof objectMeta>;

/** A key in a Secret's data, as Kubernetes restricts it. */
export const secretDataKey = z
  .string()
  .min(1, "must not be empty")
  .max(253, "must be at most 253 characters")
  .regex(/^[-._a-zA-Z0-9]+$/, "must consist of letters, digits, '-', '_' and '.'");

const secretName = dnsSubdomain.describe("Name of a Secret in the same namespace as this resource.");

export const basicSecretRef = z
  .strictObject({ name: secretName })
  .describe("Secret with the keys `username` and `password`, sent as HTTP Basic auth.");

function keyedSecretRef(defaultKey: string, description: string) {
  return z
    .strictObject({
      name: secretName,
      key: secretDataKey.default(defaultKey).describe(`Key in the Secret's data; defaults to \`${defaultKey}\`.`),
    })
    .describe(description);
}

export const apiKeySecretRef = keyedSecretRef("apiKey", "Secret holding the API key sent as the `api_key` body parameter.");
export const signingSecretRef = keyedSecretRef(
  "secret",
  "Secret holding the Standard Webhooks signing secret (`whsec_…`); several space-separated secrets during a rotation, each one signs.",
);

export const authSpec = z
  .strictObject({
    basicSecretRef: basicSecretRef.optional(),
    apiKeySecretRef: apiKeySecretRef.optional(),
    signingSecretRef: signingSecretRef.optional(),
  })
  .describe("Credentials for the endpoint, read from Secrets in this namespace; never written into spec or status.");
export type AuthSpec = z.output<typeof authSpec>;

/**
 * An `https://` URL. The pattern lands in the CRD; the CEL rules then give a clear answer for the two
 * mistakes a pattern explains badly: a malformed URL, and credentials written into the URL instead of a Secret.
 * (`isURL`/`url()` are in the Kubernetes CEL base library since before 1.29.)
 */
export const httpsEndpoint = withCel(
  z
    .string()
    .max(2048, { message: "must be at most 2048 characters", abort: true })
    // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
    .regex(/^https:\/\/[^\x00-\x20\x7f/?#]+([/?#][^\x00-\x20\x7f]*)?$/, {
      message: "must be an https:// URL with a host (no spaces or control characters)",
      abort: true,
    }),
  [
    {
      rule: "isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != ''",
      message: "must be an absolute https:// URL with a host",
      check: (v) => URL.canParse(v) && new URL(v).protocol === "https:" && new URL(v).hostname !== "",
    },
    {
      rule: "!self.matches('^https://[^/?#]*@')",
      message: "must not contain credentials; reference a Secret in spec.auth.basicSecretRef instead",
      check: (v) => !/^https:\/\/[^/?#]*@/.test(v),
    },
  ],
);

/** metav1.Condition, with the API server's own limits. */
export const condition = z.strictObject({
  type: z
    .string()
    .max(316)
    .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/)
    .describe("Condition type, e.g. Ready."),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.int().min(0).meta({ format: "int64" }).optional().describe("metadata.generation the condition was computed from."),
  lastTransitionTime: z.iso.datetime({ offset: true }).describe("When status last changed."),
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .describe("CamelCase reason: InvalidSpec, SecretNotFound, InvalidSecret, Suspended, Ready, …"),
  message: z.string().max(32768).describe("Human-readable details."),
});
export type Condition = z.output<typeof condition>;

/** The status both kinds report; written only by mailhook, never by users. */
export const webhookStatus = z.strictObject({
  observedGeneration: z.int().min(0).meta({ format: "int64" }).optional().describe("metadata.generation last processed."),
  conditions: z
    .array(condition)
    .max(16)
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
    .optional()
    .describe("Ready tells whether the relay serves this webhook, and if not, why (reason)."),
  lastSuccessTime: z.iso.datetime({ offset: true }).optional().describe("When the endpoint last accepted a request."),
  lastError: z.string().max(1024).optional().describe("The most recent delivery error."),
  pending: z.int().min(0).meta({ format: "int64" }).optional().describe("Requests waiting for delivery or retry."),
});
export type WebhookStatus = z.output<typeof webhookStatus>;

/** One column of `kubectl get`. */
export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description?: string;
  /** 0: always shown; 1: only with `-o wide`. */
  priority?: number;
}

export const statusPrinterColumns: readonly PrinterColumn[] = [
  { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
  { name: "Pending", type: "integer", jsonPath: ".status.pending", description: "Requests waiting for delivery or retry" },
  { name: "Last Success", type: "date", jsonPath: ".status.lastSuccessTime", priority: 1 },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
];

/** Everything the CRD generator needs to know about one kind. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: readonly PrinterColumn[];
}
