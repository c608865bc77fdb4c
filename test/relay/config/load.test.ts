import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadRelaySettings } from "../../../relay/config/load.ts";

const dir = await mkdtemp(join(tmpdir(), "mailhook-config-"));
after(() => rm(dir, { recursive: true, force: true }));

test("the checked-in local config is valid", async () => {
  const s = await loadRelaySettings(new URL("../../../examples/relay.local.yaml", import.meta.url).pathname);
  assert.deepEqual(s.inbound.domains, ["example.com"]);
  assert.ok(Object.isFrozen(s));
});

test("a wrong value is reported with the file and the exact key", async () => {
  const file = join(dir, "bad.yaml");
  await writeFile(file, "inbound:\n  maxMessageBytes: -1\n  domains: [example.com]\n");
  await assert.rejects(loadRelaySettings(file), (err: Error & { code?: string }) => {
    assert.equal(err.code, "CONFIG_INVALID");
    assert.match(err.message, new RegExp(`^${file}: inbound\\.maxMessageBytes: `));
    return true;
  });
});

test("a YAML syntax error and a missing file are reported, not thrown raw", async () => {
  const file = join(dir, "syntax.yaml");
  await writeFile(file, "inbound: [\n");
  await assert.rejects(loadRelaySettings(file), /syntax\.yaml: /);
  await assert.rejects(loadRelaySettings(join(dir, "missing.yaml")), /missing\.yaml: cannot read/);
});
