import assert from "node:assert/strict";
import { test } from "node:test";
import { isOutboundJobId, jobIdFromReturnPath, newOutboundJobId, returnPathFor } from "../../../relay/outbound/verp.ts";

const verp = { bounceDomain: "bounces.relay.test" };

test("job ids are 26 lower-case base32 characters and do not repeat", () => {
  const ids = Array.from({ length: 1000 }, newOutboundJobId);
  assert.ok(ids.every(isOutboundJobId));
  assert.equal(new Set(ids).size, ids.length);
});

test("the return path names the job, and a bounce to it (even case-folded) gives the job back", () => {
  const id = newOutboundJobId();
  const path = returnPathFor(verp, "sender@example.org", id);
  assert.equal(path, `bounce+${id}@bounces.relay.test`);
  assert.equal(jobIdFromReturnPath(verp, path), id);
  assert.equal(jobIdFromReturnPath(verp, path.toUpperCase()), id);
  assert.equal(jobIdFromReturnPath({ ...verp, localPart: "Rt" }, `rt+${id}@BOUNCES.relay.test`), id);
});

test("the null sender stays null and without a bounce domain the sender's own address is kept", () => {
  assert.equal(returnPathFor(verp, "", newOutboundJobId()), "");
  assert.equal(returnPathFor({ bounceDomain: null }, "sender@example.org", newOutboundJobId()), "sender@example.org");
});

test("addresses that are not our return paths name no job", () => {
  const id = newOutboundJobId();
  for (const address of [`bounce+${id}@other.test`, `other+${id}@bounces.relay.test`, "bounce+short@bounces.relay.test", `bounce+${id}x@bounces.relay.test`, "postmaster@bounces.relay.test", "no-at-sign"]) {
    assert.equal(jobIdFromReturnPath(verp, address), undefined, address);
  }
  assert.equal(jobIdFromReturnPath({ bounceDomain: null }, `bounce+${id}@bounces.relay.test`), undefined);
});
