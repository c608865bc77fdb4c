import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { signPayload, webhookHeaders } from "../../../relay/deliver/signature.ts";

const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;
const now = () => Math.floor(Date.now() / 1000);
const body = Buffer.from(JSON.stringify({ subject: "こんにちは", filter: "orders" }), "utf8");

describe("webhookHeaders", () => {
  test("a Standard Webhooks verifier accepts the signature over the raw body", () => {
    const secret = newSecret();
    const headers = webhookHeaders({ id: "msg_1", timestampSeconds: now(), body, secrets: [secret] });
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body.toString("utf8")));
  });

  test("during a key rotation both the old and the new secret verify", () => {
    const [oldSecret, newSecretValue] = [newSecret(), newSecret()];
    const headers = webhookHeaders({ id: "msg_2", timestampSeconds: now(), body, secrets: [oldSecret, newSecretValue] });
    assert.equal(headers["webhook-signature"]?.split(" ").length, 2);
    assert.doesNotThrow(() => new Webhook(oldSecret).verify(body, headers));
    assert.doesNotThrow(() => new Webhook(newSecretValue).verify(body, headers));
  });

  test("a verifier with another secret, a changed body or another id rejects it", () => {
    const secret = newSecret();
    const headers = webhookHeaders({ id: "msg_3", timestampSeconds: now(), body, secrets: [secret] });
    assert.throws(() => new Webhook(newSecret()).verify(body, headers), /No matching signature/);
    assert.throws(() => new Webhook(secret).verify(Buffer.concat([body, Buffer.from(" ")]), headers), /No matching signature/);
    assert.throws(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": "msg_4" }), /No matching signature/);
  });

  test("without secrets only the id and timestamp are sent", () => {
    assert.deepEqual(webhookHeaders({ id: "msg_5", timestampSeconds: 1700000000, body }), {
      "webhook-id": "msg_5",
      "webhook-timestamp": "1700000000",
    });
  });
});

describe("signPayload", () => {
  test("signs the exact bytes, including bytes that are not UTF-8", () => {
    const key = randomBytes(24);
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a]);
    const expected = createHmac("sha256", key).update(Buffer.concat([Buffer.from("id.17."), binary])).digest("base64");
    assert.equal(signPayload([`whsec_${key.toString("base64")}`], "id", 17, binary), `v1,${expected}`);
  });

  test("accepts a secret without the whsec_ prefix, as the reference libraries do", () => {
    const key = randomBytes(32).toString("base64");
    assert.equal(signPayload([key], "a", 1, body), signPayload([`whsec_${key}`], "a", 1, body));
  });

  test("refuses a secret that is not base64 without revealing it", () => {
    for (const secret of ["whsec_not base64!", "whsec_=", "whsec_abcde"]) {
      assert.throws(
        () => signPayload(["whsec_AAAA", secret], "a", 1, body),
        (error: Error & { code?: string }) =>
          error.code === "SIGNING_SECRET_INVALID" && error.message.includes("#2") && !error.message.includes(secret),
      );
    }
  });
});
