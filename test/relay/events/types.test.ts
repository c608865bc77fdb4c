import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { deliveriesStatuses, eventTypeOf, subscribes } from "../../../relay/events/types.ts";

test("bounced goes out as event_type bounces, every other status as deliveries", () => {
  assert.equal(eventTypeOf("bounced"), "bounces");
  for (const status of deliveriesStatuses) assert.equal(eventTypeOf(status), "deliveries");
  assert.deepEqual([...deliveriesStatuses], ["queued", "succeeded", "failed", "deferred"]);
});

test("a webhook receives exactly the groups it enabled", () => {
  assert.equal(subscribes({ bounces: true, deliveries: false }, "bounces"), true);
  assert.equal(subscribes({ bounces: true, deliveries: false }, "deliveries"), false);
  assert.equal(subscribes({ bounces: false, deliveries: true }, "deliveries"), true);
  assert.equal(subscribes({ bounces: false, deliveries: false }, "bounces"), false);
});

test("the event modules are pure: no I/O module, no package, only each other and type imports", async () => {
  const dir = join(import.meta.dirname, "..", "..", "..", "relay", "events");
  for (const file of await readdir(dir)) {
    const source = await readFile(join(dir, file), "utf8");
    for (const [, typeOnly, spec] of source.matchAll(/^import (type )?.* from "([^"]+)";$/gm)) {
      if (typeOnly !== undefined) continue;
      assert.match(spec!, /^\.\/[a-z-]+\.ts$/, `${file} imports ${spec}`);
    }
  }
});
