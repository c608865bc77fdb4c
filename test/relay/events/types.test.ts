import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
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

// The outbox and the event worker (I/O) live beside these; the rules they apply must not.
const pureModules = ["types.ts", "batch.ts", "render.ts", "local-time.ts"];

test("the pure event modules import no I/O module, no package, only each other and type imports", async () => {
  const dir = join(import.meta.dirname, "..", "..", "..", "relay", "events");
  assert.deepEqual(pureModules.filter((f) => !existsSync(join(dir, f))), []);
  for (const file of pureModules) {
    const source = await readFile(join(dir, file), "utf8");
    for (const [, typeOnly, spec] of source.matchAll(/^import (type )?.* from "([^"]+)";$/gm)) {
      if (typeOnly !== undefined) continue;
      assert.ok(pureModules.includes(spec!.replace(/^\.\//, "")), `${file} imports ${spec}`);
    }
  }
});
