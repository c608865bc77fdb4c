import assert from "node:assert/strict";
import { test } from "node:test";
import { eventItem, renderEvents, type EventBody, type EventRenderOptions } from "../../../relay/events/render.ts";
import type { BounceEvent, DeliveriesEvent, EventBatch } from "../../../relay/events/types.ts";

// 2015-12-14 10:53:52 in Tokyo, the seed documentation's example time.
const createdAt = Date.parse("2015-12-14T01:53:52Z");

const base = {
  createdAt,
  returnPath: "envelope-from1@example.com",
  from: "header-from1@example.com",
  to: "to1@example.com",
  messageId: "<823cb160-a205-11e5-833e-06ff9846521b@node1>",
  subject: "sample email #1",
  apiData: "CMC00123",
  reason: "",
  senderIp: "",
  sourceIp: "",
};
const queued: DeliveriesEvent = { ...base, status: "queued", sourceIp: "10.0.24.10" };
const succeeded: DeliveriesEvent = { ...base, status: "succeeded", createdAt: createdAt + 1000, senderIp: "10.0.24.20" };
const failed: DeliveriesEvent = { ...base, status: "failed", reason: "550 5.1.1 <to1@example.com>: Recipient address rejected: User unknown" };
const deferred: DeliveriesEvent = { ...base, status: "deferred", reason: "451 4.7.1 Greylisted, try again later" };
const bounced: BounceEvent = { ...base, status: "bounced", reason: failed.reason, errorStatus: 2, enhancedStatus: "5.1.1" };

const tokyo = { timeZone: "Asia/Tokyo", serverComposition: "sandbox" } as const;
const deliveries: EventBatch = { eventType: "deliveries", events: [queued, succeeded, failed, deferred] };
const bounces: EventBatch = { eventType: "bounces", events: [bounced] };

/** What a receiver written for the seed service does with a request: decode the form or the JSON body. */
function receive(body: EventBody): { params: Record<string, unknown>; keys: string[]; event: Record<string, Record<string, unknown>[]> } {
  if (body.contentType === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams(body.body.toString("utf8"));
    const params = Object.fromEntries(form);
    return { params, keys: [...form.keys()], event: JSON.parse(params.event ?? "null") as never };
  }
  assert.equal(body.contentType, "application/json");
  const params = JSON.parse(body.body.toString("utf8")) as Record<string, unknown>;
  return { params, keys: Object.keys(params), event: params.event as never };
}

const v2Fields = ["created", "returnPath", "from", "to", "messageId", "reason", "senderIp", "sourceIp", "status", "subject", "apiData"];
const v1Fields = ["created", "envelopeFrom", "envelopeTo", "messageId", "reason", "senderIp", "sourceIp", "status", "subject"];

for (const contentType of ["form", "json"] as const) {
  test(`${contentType}, version 2: deliveries arrive with the seed's parameters and item fields, in order`, () => {
    const { params, keys, event } = receive(renderEvents({ ...tokyo, version: "2", contentType, apiKey: "k-1" }, deliveries));
    assert.deepEqual(keys, ["api_key", "server_composition", "event_type", "event"]);
    assert.equal(params.api_key, "k-1");
    assert.equal(params.server_composition, "sandbox");
    assert.equal(params.event_type, "deliveries");
    assert.deepEqual(Object.keys(event), ["deliveries"]);
    const items = event.deliveries!;
    for (const item of items) assert.deepEqual(Object.keys(item), v2Fields);
    assert.deepEqual(items[0], {
      created: "2015-12-14 10:53:52",
      returnPath: "envelope-from1@example.com",
      from: "header-from1@example.com",
      to: "to1@example.com",
      messageId: "<823cb160-a205-11e5-833e-06ff9846521b@node1>",
      reason: "",
      senderIp: "",
      sourceIp: "10.0.24.10",
      status: "queued",
      subject: "sample email #1",
      apiData: "CMC00123",
    });
    assert.deepEqual(
      items.map((i) => [i.created, i.status, i.senderIp, i.reason]),
      [
        ["2015-12-14 10:53:52", "queued", "", ""],
        ["2015-12-14 10:53:53", "succeeded", "10.0.24.20", ""],
        ["2015-12-14 10:53:52", "failed", "", failed.reason],
        ["2015-12-14 10:53:52", "deferred", "", deferred.reason],
      ],
    );
  });

  test(`${contentType}, version 1: items have envelopeFrom and envelopeTo, no header From and no apiData`, () => {
    const { keys, event } = receive(renderEvents({ ...tokyo, version: "1", contentType }, deliveries));
    assert.deepEqual(keys, ["server_composition", "event_type", "event"]);
    for (const item of event.deliveries!) assert.deepEqual(Object.keys(item), v1Fields);
    assert.deepEqual(event.deliveries![0], {
      created: "2015-12-14 10:53:52",
      envelopeFrom: "envelope-from1@example.com",
      envelopeTo: "to1@example.com",
      messageId: "<823cb160-a205-11e5-833e-06ff9846521b@node1>",
      reason: "",
      senderIp: "",
      sourceIp: "10.0.24.10",
      status: "queued",
      subject: "sample email #1",
    });
  });

  for (const version of ["1", "2"] as const) {
    test(`${contentType}, version ${version}: bounces carry the version's fields plus errorStatus and enhancedStatus`, () => {
      const { params, event } = receive(renderEvents({ ...tokyo, version, contentType }, bounces));
      assert.equal(params.event_type, "bounces");
      assert.deepEqual(Object.keys(event), ["bounces"]);
      const [item] = event.bounces!;
      assert.deepEqual(Object.keys(item!), [...(version === "2" ? v2Fields : v1Fields), "errorStatus", "enhancedStatus"]);
      assert.equal(item!.status, "bounced");
      assert.equal(item!.errorStatus, 2);
      assert.equal(item!.enhancedStatus, "5.1.1");
      assert.equal(item!.reason, "550 5.1.1 <to1@example.com>: Recipient address rejected: User unknown");
    });
  }
}

test("form values survive characters that mean something in a form: & = + % space, Unicode, newlines", () => {
  const subject = "Q&A = 100% + more: 日本語の件名 🎉\r\nline two";
  const event: DeliveriesEvent = { ...queued, subject, apiData: "a=b&c=d" };
  const { params, event: decoded } = receive(renderEvents({ ...tokyo, serverComposition: "prod & co", version: "2", contentType: "form", apiKey: "k+/=" }, { eventType: "deliveries", events: [event] }));
  assert.equal(params.server_composition, "prod & co");
  assert.equal(params.api_key, "k+/=");
  assert.equal(decoded.deliveries![0]!.subject, subject);
  assert.equal(decoded.deliveries![0]!.apiData, "a=b&c=d");
});

test("a lone surrogate from a broken subject becomes U+FFFD in both content types, so strict parsers accept it", () => {
  const event: DeliveriesEvent = { ...queued, subject: "bad \ud800 half" };
  for (const contentType of ["form", "json"] as const) {
    const body = renderEvents({ ...tokyo, version: "2", contentType }, { eventType: "deliveries", events: [event] });
    assert.doesNotMatch(body.body.toString("utf8"), /\\ud800/i);
    assert.equal(receive(body).event.deliveries![0]!.subject, "bad \ufffd half");
  }
});

test("created is local time in the webhook's zone, across a DST change", () => {
  const spring: DeliveriesEvent[] = [
    { ...queued, createdAt: Date.parse("2024-03-10T06:59:59Z") },
    { ...queued, createdAt: Date.parse("2024-03-10T07:00:00Z") },
  ];
  const ny = { serverComposition: "x", timeZone: "America/New_York", version: "2", contentType: "json" } as const;
  const { event } = receive(renderEvents(ny, { eventType: "deliveries", events: spring }));
  assert.deepEqual(event.deliveries!.map((i) => i.created), ["2024-03-10 01:59:59", "2024-03-10 03:00:00"]);
  assert.equal(eventItem(spring[0]!, "2", "UTC").created, "2024-03-10 06:59:59");
});

test("the same batch renders to the same bytes every time (a retry re-renders a stored batch)", () => {
  const options: EventRenderOptions = { ...tokyo, version: "2", contentType: "form", apiKey: "k" };
  assert.deepEqual(renderEvents(options, deliveries).body, renderEvents(options, deliveries).body);
});

test("api_key is left out when no key is configured, in both content types", () => {
  for (const contentType of ["form", "json"] as const) {
    const { keys } = receive(renderEvents({ ...tokyo, version: "2", contentType }, deliveries));
    assert.deepEqual(keys, ["server_composition", "event_type", "event"]);
  }
});

test("in json the event is a nested object, in form a JSON string", () => {
  const json = JSON.parse(renderEvents({ ...tokyo, version: "2", contentType: "json" }, bounces).body.toString("utf8")) as { event: unknown };
  assert.equal(typeof json.event, "object");
  const form = new URLSearchParams(renderEvents({ ...tokyo, version: "2", contentType: "form" }, bounces).body.toString("utf8"));
  assert.match(form.get("event") ?? "", /^\{"bounces":\[\{"created":"2015-12-14 10:53:52",/);
});

test("an event time the zone cannot show is a RangeError", () => {
  assert.throws(() => renderEvents({ ...tokyo, version: "2", contentType: "json" }, { eventType: "deliveries", events: [{ ...queued, createdAt: NaN }] }), RangeError);
});
