import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { parse } from "yaml";
import { runValidate } from "../../operator/validate-command.ts";
import { validateFiles } from "../../operator/validate.ts";

const examples = join(import.meta.dirname, "..", "..", "examples", "manifests");
let dir: string;

async function run(paths: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runValidate(paths, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailhook-validate-"));
  await writeFile(
    join(dir, "orders.yaml"),
    `apiVersion: mailhook.dev/v1alpha1
kind: InboundWebhook
metadata:
  name: orders
spec:
  endpoint: https://hooks.example.com/orders
  conditions:
    - header: To
      pattern: "(orders"
  retry:
    intervalSeconds: 5
  auth:
    apiKeySecretRef: { name: orders-keys }
`,
  );
  await writeFile(
    join(dir, "fine.yaml"),
    `apiVersion: mailhook.dev/v1alpha1
kind: InboundWebhook
metadata: { name: fine, namespace: shop }
spec:
  endpoint: https://hooks.example.com/fine
  conditions: [{ header: To, pattern: ^fine@ }]
`,
  );
});

after(() => rm(dir, { recursive: true, force: true }));

test("valid manifests exit 0 with a one-line summary", async () => {
  const { code, stdout, stderr } = await run([join(dir, "fine.yaml")]);
  assert.equal(code, 0);
  assert.equal(stderr, "");
  assert.equal(stdout, "1 file: 1 mailhook resource, 0 Secrets, 0 other objects ignored; 1 valid InboundWebhook, 0 valid EventWebhooks; no problems\n");
});

test("problems exit 1 with one precise line each, in file order", async () => {
  const { code, stdout, stderr } = await run([dir]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  const file = join(dir, "orders.yaml");
  assert.deepEqual(stderr.trimEnd().split("\n"), [
    `${file}:9: InboundWebhook default/orders: spec.conditions[0].pattern: is not a valid RE2 regular expression: missing closing ): \`(orders\``,
    `${file}:11: InboundWebhook default/orders: spec.retry.intervalSeconds: must be between 10 and 600`,
    "2 files: 2 mailhook resources, 0 Secrets, 0 other objects ignored; 1 valid InboundWebhook, 0 valid EventWebhooks; 2 problems",
  ]);
});

test("a missing Secret is a problem only once the spec itself is valid", async (t) => {
  const fixedDir = await mkdtemp(join(tmpdir(), "mailhook-validate-fixed-"));
  t.after(() => rm(fixedDir, { recursive: true, force: true }));
  const fixed = join(fixedDir, "orders.yaml");
  await writeFile(fixed, (await readFile(join(dir, "orders.yaml"), "utf8")).replace('"(orders"', "^orders@").replace("intervalSeconds: 5", "intervalSeconds: 10"));
  const { code, stderr } = await run([fixed]);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`^${fixed}:13: InboundWebhook default/orders: spec\\.auth\\.apiKeySecretRef: Secret "orders-keys" not found in namespace default\\n`));
});

test("no path is a usage error: exit 2", async () => {
  const { code, stderr } = await run([]);
  assert.equal(code, 2);
  assert.match(stderr, /^usage: mailhook validate PATH/);
});

test("an unreadable path exits 1 and says which", async () => {
  const { code, stderr } = await run([join(dir, "nope")]);
  assert.equal(code, 1);
  assert.match(stderr, new RegExp(`^${join(dir, "nope")}: cannot read: ENOENT\\n`));
});

test("the example manifests the demo uses validate clean", async () => {
  const { code, stdout } = await run([examples]);
  assert.equal(code, 0, stdout);
  const { result } = await validateFiles([examples]);
  const [support] = result.webhooks.inbound;
  assert.equal(support?.key, "default/support");
  assert.equal(support?.endpoint, "https://localhost:8443/inbound");
  assert.deepEqual(support?.conditions, [
    { header: "To", pattern: "^support@example\\.com$" },
    { header: "Subject", pattern: ".*" },
  ]);
  assert.equal(support?.contentType, "multipart");
  assert.equal(support?.auth.apiKey, "demo-api-key");
});

test("the example signing secret is one the standardwebhooks library signs and verifies with", async () => {
  const secret = parse(await readFile(join(examples, "support-webhook-secret.yaml"), "utf8")) as { stringData: { secret: string } };
  const webhook = new Webhook(secret.stringData.secret);
  const timestamp = new Date();
  const signature = webhook.sign("msg_1", timestamp, "{}");
  assert.doesNotThrow(() => webhook.verify("{}", { "webhook-id": "msg_1", "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)), "webhook-signature": signature }));
});
