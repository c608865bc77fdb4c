import assert from "node:assert/strict";
import { test } from "node:test";
import { formatPath, parseWith } from "../../../operator/api/issues.ts";
import { secretManifest, secretValues } from "../../../operator/api/secret.ts";

const base = { apiVersion: "v1", kind: "Secret", metadata: { name: "creds" } };

test("data is decoded from base64 and stringData wins over data", () => {
  const secret = secretManifest.parse({ ...base, data: { a: Buffer.from("from-data").toString("base64"), b: "Yg==" }, stringData: { a: "from-stringData" } });
  const values = secretValues(secret);
  assert.equal(Buffer.from(values.get("a")!).toString(), "from-stringData");
  assert.equal(Buffer.from(values.get("b")!).toString(), "b");
});

test("a Secret the API server would refuse is reported field by field", () => {
  const r = parseWith(secretManifest, { ...base, data: { "bad key": "YQ==", ok: "not base64!" }, stringData: { n: 1 }, extra: true });
  assert.equal(r.success, false);
  assert.deepEqual(r.success ? [] : r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`), [
    "data.bad key: is not a valid key: must consist of letters, digits, '-', '_' and '.'",
    "data.ok: must be base64 (standard alphabet, padded)",
    "stringData.n: must be a string",
    "extra: unknown field",
  ]);
});

test("a Secret over 1 MiB is refused like the API server refuses it", () => {
  const r = parseWith(secretManifest, { ...base, stringData: { big: "x".repeat(1024 * 1024 + 1) } });
  assert.equal(r.success, false);
});

test("base64 split over lines decodes as Go decodes it", () => {
  assert.equal(parseWith(secretManifest, { ...base, data: { a: "YWJj\nZGVm" } }).success, true);
});
