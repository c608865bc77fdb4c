import assert from "node:assert/strict";
import { test } from "node:test";
import { removeHeaderFields } from "../../../relay/submission/strip-header.ts";

test("every field of the name goes, folded lines included, and nothing else changes", () => {
  const raw = Buffer.from(
    "Received: from a\r\n\tby b\r\nX-Mailhook-Api-Data: order-1\r\n  continued\r\nSubject: hi\r\nx-mailhook-api-data: again\r\n\r\nX-Mailhook-Api-Data: in the body stays\r\n",
  );
  assert.equal(
    removeHeaderFields(raw, "X-Mailhook-Api-Data").toString(),
    "Received: from a\r\n\tby b\r\nSubject: hi\r\n\r\nX-Mailhook-Api-Data: in the body stays\r\n",
  );
});

test("a field whose name only starts like it is kept; bare LF messages work too", () => {
  const raw = Buffer.from("X-Mailhook-Api-Data-Extra: keep\nX-Mailhook-Api-Data: drop\n\nbody\n");
  assert.equal(removeHeaderFields(raw, "X-Mailhook-Api-Data").toString(), "X-Mailhook-Api-Data-Extra: keep\n\nbody\n");
});

test("a message without the field is returned byte for byte", () => {
  const raw = Buffer.from([0x53, 0x3a, 0x20, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0xfe]);
  assert.deepEqual(removeHeaderFields(raw, "X-Any"), raw);
});

test("the obsolete form with blanks before the colon is removed too", () => {
  const raw = Buffer.from("X-Mailhook-Api-Data : secret\r\nX-Mailhook-Api-Data\t: secret2\r\nSubject: s\r\n\r\nb\r\n");
  assert.equal(removeHeaderFields(raw, "X-Mailhook-Api-Data").toString(), "Subject: s\r\n\r\nb\r\n");
});
