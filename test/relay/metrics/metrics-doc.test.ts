// Every metric the relay exports is documented in docs/metrics.md (and nothing documented is gone).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { createRelayMetrics } from "../../../relay/metrics/metrics.ts";

test("docs/metrics.md documents exactly the relay's own metrics", async () => {
  const doc = await readFile(new URL("../../../docs/metrics.md", import.meta.url), "utf8");
  const exported = (await createRelayMetrics(() => undefined).registry.getMetricsAsJSON())
    .map((m) => m.name)
    .filter((name) => !name.startsWith("mailhook_process_"));
  const documented = [...doc.matchAll(/^\| `(mailhook_[a-z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...exported].sort());
});
