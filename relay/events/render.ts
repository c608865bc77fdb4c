// The body of an event webhook request, compatible with the seed service (SPEC 2.1): receivers written
// for it must work unchanged. Pure. The exact shapes are documented for receivers in docs/events.md.
//
// Parameters, in this order: api_key (only when a key is configured), server_composition, event_type,
// event. `form` sends them as application/x-www-form-urlencoded with `event` a JSON string; `json` sends
// one JSON object with `event` nested. Item fields keep a fixed order (the seed's), so equal batches
// give equal bytes: the body is signed, and a stored batch is re-rendered for every retry.
import { formatLocalTime } from "./local-time.ts";
import type { DeliveryEvent, EventBatch } from "./types.ts";

export type EventVersion = "1" | "2";
export type EventContentType = "form" | "json";

/** How one EventWebhook wants its events. */
export interface EventRenderOptions {
  version: EventVersion;
  contentType: EventContentType;
  /** IANA zone for `created`. */
  timeZone: string;
  /** relay.yaml `serverComposition`. */
  serverComposition: string;
  apiKey?: string | undefined;
}

export interface EventBody {
  contentType: string;
  body: Buffer;
}

export type EventItem = Record<string, string | number>;

/**
 * One event as an `event.deliveries[]` / `event.bounces[]` item. Version 2 names the addresses
 * `returnPath`, `from`, `to` and adds `apiData`; version 1 has `envelopeFrom` and `envelopeTo` instead (no
 * header From, no apiData). A bounce adds `errorStatus` and `enhancedStatus` at the end.
 */
export function eventItem(event: DeliveryEvent, version: EventVersion, timeZone: string): EventItem {
  // A stored subject or reason may hold a lone surrogate (a mail's broken encoding); strict JSON
  // parsers reject its escape, so it becomes U+FFFD as in the form encoding.
  const text = (s: string) => s.toWellFormed();
  const item: EventItem = { created: formatLocalTime(event.createdAt, timeZone) };
  if (version === "2") {
    item.returnPath = text(event.returnPath);
    item.from = text(event.from);
    item.to = text(event.to);
  } else {
    item.envelopeFrom = text(event.returnPath);
    item.envelopeTo = text(event.to);
  }
  Object.assign(item, {
    messageId: text(event.messageId),
    reason: text(event.reason),
    senderIp: event.senderIp,
    sourceIp: event.sourceIp,
    status: event.status,
    subject: text(event.subject),
  });
  if (version === "2") item.apiData = text(event.apiData);
  if (event.status === "bounced") {
    item.errorStatus = event.errorStatus;
    item.enhancedStatus = event.enhancedStatus;
  }
  return item;
}

/** The request body for one batch. Throws a RangeError for an unknown zone or an impossible event time. */
export function renderEvents(options: EventRenderOptions, batch: EventBatch): EventBody {
  const items = batch.events.map((e) => eventItem(e, options.version, options.timeZone));
  const event = { [batch.eventType]: items };
  const params = {
    ...(options.apiKey === undefined ? {} : { api_key: options.apiKey }),
    server_composition: options.serverComposition,
    event_type: batch.eventType,
  };
  if (options.contentType === "json") {
    return { contentType: "application/json", body: Buffer.from(JSON.stringify({ ...params, event }), "utf8") };
  }
  // WHATWG form encoding (UTF-8, space as +), as a browser form post and every server framework read it.
  const form = new URLSearchParams({ ...params, event: JSON.stringify(event) });
  return { contentType: "application/x-www-form-urlencoded", body: Buffer.from(form.toString(), "utf8") };
}
