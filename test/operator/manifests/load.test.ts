import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadManifests, maxManifestFileBytes } from "../../../operator/manifests/load.ts";

let dir: string;

const webhook = (name: string) => `apiVersion: mailhook.dev/v1alpha1
kind: InboundWebhook
metadata: { name: ${name} }
spec:
  endpoint: https://hooks.example.com/${name}
  conditions: [{ header: To, pattern: "^${name}@" }]
`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailhook-manifests-"));
  await mkdir(join(dir, "tree", "sub", "deeper"), { recursive: true });
  await mkdir(join(dir, "tree", ".hidden"));
  await writeFile(join(dir, "tree", "b.yaml"), `${webhook("b1")}---\n${webhook("b2")}`);
  await writeFile(join(dir, "tree", "a.yml"), webhook("a"));
  await writeFile(join(dir, "tree", "sub", "deeper", "c.yaml"), webhook("c"));
  await writeFile(join(dir, "tree", "sub", "notes.txt"), "not a manifest: {{{");
  await writeFile(join(dir, "tree", ".hidden", "h.yaml"), webhook("hidden"));
  // A mounted ConfigMap: files are links into a `..data` folder, which must not be read a second time.
  await mkdir(join(dir, "configmap", "..2024_01_01"), { recursive: true });
  await writeFile(join(dir, "configmap", "..2024_01_01", "w.yaml"), webhook("w"));
  await symlink("..2024_01_01", join(dir, "configmap", "..data"));
  await symlink(join("..data", "w.yaml"), join(dir, "configmap", "w.yaml"));
  // A folder linking to itself.
  await symlink(".", join(dir, "tree", "sub", "loop"));
  await writeFile(join(dir, "broken.yaml"), `${webhook("ok-before")}---\nmetadata: { name: [oops\n---\n${webhook("ok-after")}`);
  await writeFile(join(dir, "manifest.txt"), webhook("explicit"));
});

after(() => rm(dir, { recursive: true, force: true }));

const names = (docs: { object: unknown }[]) => docs.map((d) => (d.object as { metadata: { name: string } }).metadata.name);

test("a folder is read recursively: *.yaml and *.yml in name order, hidden entries and other files skipped", async () => {
  const loaded = await loadManifests([join(dir, "tree")]);
  assert.deepEqual(names(loaded.resources), ["a", "b1", "b2", "c"]);
  assert.deepEqual(loaded.files, [join(dir, "tree", "a.yml"), join(dir, "tree", "b.yaml"), join(dir, "tree", "sub", "deeper", "c.yaml")]);
  assert.deepEqual(loaded.problems, []);
});

test("a mounted ConfigMap folder is read once, through its links", async () => {
  const loaded = await loadManifests([join(dir, "configmap")]);
  assert.deepEqual(names(loaded.resources), ["w"]);
});

test("a file named twice, or inside a folder also named, is read once", async () => {
  const loaded = await loadManifests([join(dir, "tree", "a.yml"), join(dir, "tree"), join(dir, "tree", "a.yml")]);
  assert.deepEqual(names(loaded.resources), ["a", "b1", "b2", "c"]);
});

test("a file named explicitly is read whatever its extension", async () => {
  const loaded = await loadManifests([join(dir, "manifest.txt")]);
  assert.deepEqual(names(loaded.resources), ["explicit"]);
});

test("a YAML error names file and line and does not stop the rest of the file or other files", async () => {
  const loaded = await loadManifests([join(dir, "broken.yaml"), join(dir, "tree", "a.yml")]);
  assert.deepEqual(names(loaded.resources), ["ok-before", "ok-after", "a"]);
  assert.equal(loaded.problems.length, 1);
  assert.equal(loaded.problems[0]?.file, join(dir, "broken.yaml"));
  assert.ok((loaded.problems[0]?.line ?? 0) >= 8, `line ${loaded.problems[0]?.line}`);
});

test("a path that does not exist is a problem, and the other paths still load", async () => {
  const loaded = await loadManifests([join(dir, "missing"), join(dir, "tree", "a.yml")]);
  assert.deepEqual(loaded.problems, [{ reason: "Unreadable", message: "cannot read: ENOENT", file: join(dir, "missing") }]);
  assert.deepEqual(names(loaded.resources), ["a"]);
});

test("a file larger than the limit is refused without being read", async () => {
  const big = join(dir, "big.yaml");
  await writeFile(big, Buffer.alloc(maxManifestFileBytes + 1, "#"));
  const loaded = await loadManifests([big]);
  assert.deepEqual(loaded.problems, [{ reason: "Unreadable", message: `larger than ${maxManifestFileBytes} bytes`, file: big }]);
});
