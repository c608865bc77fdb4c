// EventWebhook (mailhook.dev/v1alpha1): delivery events (queued, succeeded, failed, deferred, bounced)
// POSTed in batches to the endpoint in the seed service's format. Fields, ranges and defaults follow
// SPEC section 2; the wire format is docs/events.md.
import { z } from "zod";
import { isTimeZone, maxTimeZoneNameLength, timeZoneNamePattern } from "../../relay/events/local-time.ts";
import {
  authSpec,
  httpsEndpoint,
  intRange,
  resourceSchema,
  statusPrinterColumns,
  webhookStatus,
  withCel,
  type KindDefinition,
} from "./common.ts";

/**
 * An IANA zone name. The CRD can only check its shape (a pattern); whether the database knows the zone
 * is checked by the operator, which reports an unknown one as InvalidSpec, and by `mailhook validate`.
 */
export const timeZone = z
  .string()
  .min(1, { message: "is required: an IANA time zone such as Asia/Tokyo or UTC", abort: true })
  .max(maxTimeZoneNameLength, { message: `must be at most ${maxTimeZoneNameLength} characters`, abort: true })
  .regex(timeZoneNamePattern, {
    message: "must be an IANA time zone name such as Asia/Tokyo, America/New_York or UTC (case matters)",
    abort: true,
  })
  .refine(isTimeZone, "is not a time zone of the IANA database (e.g. Asia/Tokyo, Europe/London, UTC)")
  .describe("IANA time zone of every date-time in the payload (`created`), e.g. Asia/Tokyo or UTC.");

/** YAML reads an unquoted `version: 2` as a number; the API server would only say "must be of type string". */
const payloadVersion = z
  .enum(["1", "2"], {
    error: (iss) =>
      iss.input === undefined ? "is required"
      : typeof iss.input === "number" ? 'must be the string "1" or "2": quote it in YAML (version: "2")'
      : undefined,
  })
  .describe('Payload version (SPEC 2.1): "2" has returnPath, from, to and apiData; "1" has envelopeFrom and envelopeTo.');

export const eventWebhookSpec = withCel(
  z.strictObject({
    endpoint: httpsEndpoint.describe("URL that receives the events; https:// only."),
    events: z
      .strictObject({
        bounces: z.boolean().default(false).describe("Receive `bounced` events (event_type bounces)."),
        deliveries: z.boolean().default(false).describe("Receive `queued`, `succeeded`, `failed` and `deferred` events (event_type deliveries)."),
      })
      .prefault({})
      .describe("Which event groups to receive; with neither, the webhook is valid but receives nothing."),
    version: payloadVersion,
    contentType: z
      .enum(["form", "json"])
      .default("form")
      .describe("form: application/x-www-form-urlencoded with `event` a JSON string; json: one JSON body (needs version 2)."),
    timeZone,
    auth: authSpec.optional(),
    batch: z
      .strictObject({
        intervalSeconds: intRange(1, 600).default(1).describe("Send what is waiting at most every this many seconds."),
        maxEvents: intRange(100, 10_000).default(100).describe("Send as soon as this many are waiting; also the most in one request."),
      })
      .prefault({})
      .describe("Batching per event type: whichever comes first."),
    retry: z
      .strictObject({
        maxAgeHours: intRange(1, 168)
          .default(24)
          .describe("A failed request is retried with backoff (1 s doubling to 5 min) until this many hours after its batch was formed, then given up (counted in status and metrics)."),
      })
      .prefault({})
      .describe("Retry of failed requests; a batch keeps its content and webhook-id across retries."),
    timeoutSeconds: intRange(1, 60).default(30).describe("Connect plus response timeout per request, in seconds."),
  }),
  [
    {
      rule: "!has(self.contentType) || self.contentType != 'json' || self.version == '2'",
      message: 'contentType json needs version "2"',
      fieldPath: ".contentType",
      check: (s) => s.contentType !== "json" || s.version === "2",
    },
  ],
);
export type EventWebhookSpec = z.output<typeof eventWebhookSpec>;
export type EventWebhookSpecInput = z.input<typeof eventWebhookSpec>;

/** The status inbound webhooks report, plus what was given up: nothing is dropped silently. */
export const eventWebhookStatus = webhookStatus.extend({
  eventsGivenUp: z
    .int()
    .min(0)
    .meta({ format: "int64" })
    .optional()
    .describe("Events whose batch could not be delivered within spec.retry.maxAgeHours and was given up."),
  lastGiveUpTime: z.iso.datetime({ offset: true }).optional().describe("When a batch was last given up."),
});

export const eventWebhookKind = "EventWebhook";

export const eventWebhook = resourceSchema(eventWebhookKind, eventWebhookSpec);
export type EventWebhook = z.output<typeof eventWebhook>;

export const eventWebhookDefinition: KindDefinition = {
  kind: eventWebhookKind,
  plural: "eventwebhooks",
  singular: "eventwebhook",
  shortNames: ["ehook"],
  description: "EventWebhook posts delivery events (queued, succeeded, failed, deferred, bounced) in batches to an HTTPS endpoint.",
  spec: eventWebhookSpec,
  status: eventWebhookStatus,
  printerColumns: [
    { name: "Endpoint", type: "string", jsonPath: ".spec.endpoint" },
    { name: "Version", type: "string", jsonPath: ".spec.version" },
    { name: "Deliveries", type: "boolean", jsonPath: ".spec.events.deliveries" },
    { name: "Bounces", type: "boolean", jsonPath: ".spec.events.bounces" },
    { name: "Time Zone", type: "string", jsonPath: ".spec.timeZone", priority: 1 },
    ...statusPrinterColumns,
  ],
};
