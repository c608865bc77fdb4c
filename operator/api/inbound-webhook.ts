// InboundWebhook (mailhook.dev/v1alpha1): received mail that matches every condition is parsed and POSTed
// to the endpoint. Fields, ranges and defaults follow SPEC section 2.
import { RE2JS } from "re2js";
import { z } from "zod";
import {
  authSpec,
  httpsEndpoint,
  intRange,
  resourceSchema,
  statusPrinterColumns,
  webhookStatus,
  type KindDefinition,
} from "./common.ts";

/** Perl features RE2 leaves out to stay linear-time; its own message for them is cryptic. */
const unsupported: [RegExp, string][] = [
  [/\(\?<?[=!]/, "lookahead and lookbehind are not supported"],
  [/\\[1-9]/, "backreferences are not supported"],
];

/** Why a pattern does not compile, without the engine's generic prefix. */
function re2Error(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    const hint = unsupported.find(([construct]) => construct.test(pattern))?.[1];
    const message = (err as Error).message.replace(/^error parsing regexp: /, "");
    return hint === undefined ? message : `${hint} (${message})`;
  }
}

export const inboundCondition = z.strictObject({
  header: z
    .string()
    .min(1, { message: "must not be empty", abort: true })
    .max(128)
    .regex(/^[!-9;-~]+$/, "must be a header field name: printable ASCII without spaces or ':'")
    .describe("Header name, matched case-insensitively. `To` means the envelope recipient (RCPT TO), not the To header."),
  pattern: z
    .string()
    .min(1, "must not be empty; use .* to match anything")
    .max(1024)
    // The relay matches with RE2 (linear time on untrusted headers); the CRD cannot check RE2 syntax, so
    // the operator reports a bad pattern in status and `mailhook validate` here.
    .superRefine((pattern, ctx) => {
      const error = re2Error(pattern);
      if (error !== undefined) ctx.addIssue({ code: "custom", message: `is not a valid RE2 regular expression: ${error}` });
    })
    .describe("RE2 regular expression matched against the header value; anchor with ^ and $ for a whole-value match."),
});
export type InboundCondition = z.output<typeof inboundCondition>;

export const inboundWebhookSpec = z.strictObject({
  endpoint: httpsEndpoint.describe("URL that receives the parsed mail; https:// only."),
  conditions: z
    .array(inboundCondition)
    .min(1, "must have at least one condition")
    .max(32)
    .describe("All must match (AND) for a mail to be posted."),
  contentType: z
    .enum(["multipart", "json"])
    .default("multipart")
    .describe("multipart: multipart/form-data with attachment1…N; json: no attachment bodies."),
  auth: authSpec.optional(),
  retry: z
    .strictObject({
      intervalSeconds: intRange(10, 600).default(60).describe("Seconds between attempts when the endpoint is unreachable or answers an error."),
      periodDays: intRange(1, 10).default(3).describe("Days to keep retrying before giving up."),
    })
    .prefault({})
    .describe("Retry schedule; a 410 Gone answer stops retrying at once."),
  timeoutSeconds: intRange(1, 60).default(30).describe("Connect plus response timeout per request, in seconds."),
  suspended: z.boolean().default(false).describe("Stop posting without deleting the resource; queued deliveries are held, not dropped."),
});
export type InboundWebhookSpec = z.output<typeof inboundWebhookSpec>;
export type InboundWebhookSpecInput = z.input<typeof inboundWebhookSpec>;

export const inboundWebhookKind = "InboundWebhook";

export const inboundWebhook = resourceSchema(inboundWebhookKind, inboundWebhookSpec);
export type InboundWebhook = z.output<typeof inboundWebhook>;

export const inboundWebhookDefinition: KindDefinition = {
  kind: inboundWebhookKind,
  plural: "inboundwebhooks",
  singular: "inboundwebhook",
  shortNames: ["ihook"],
  description: "InboundWebhook posts received mail that matches all of its conditions, parsed, to an HTTPS endpoint.",
  spec: inboundWebhookSpec,
  status: webhookStatus,
  printerColumns: [
    { name: "Endpoint", type: "string", jsonPath: ".spec.endpoint" },
    { name: "Suspended", type: "boolean", jsonPath: ".spec.suspended" },
    ...statusPrinterColumns,
  ],
};
