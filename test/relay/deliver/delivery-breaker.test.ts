import assert from "node:assert/strict";
import { test } from "node:test";
import { breakerTarget, DeliveryBreaker } from "../../../relay/deliver/delivery-breaker.ts";

const a = breakerTarget("default/a", "https://a.example/hook");

test("failures below the threshold, or a success between them, hold nothing", () => {
  const b = new DeliveryBreaker(3);
  assert.equal(b.failed(a, 2000), false);
  assert.equal(b.failed(a, 2000), false);
  assert.equal(b.allowance(a, 1000), Infinity);
  b.succeeded(a);
  assert.equal(b.failed(a, 2000), false);
  assert.equal(b.failed(a, 2000), false);
  assert.equal(b.heldUntil(a, 1000), undefined);
});

test("after the threshold the target is held until the latest retry time, then one post probes it", () => {
  const b = new DeliveryBreaker(3);
  b.failed(a, 2000);
  b.failed(a, 2500);
  assert.equal(b.failed(a, 2200), true);
  assert.equal(b.allowance(a, 1000), 0);
  assert.equal(b.heldUntil(a, 1000), 2500);
  assert.equal(b.allowance(a, 2500), 1);
  assert.equal(b.heldUntil(a, 2500), undefined);
  // The probe fails: held again, until its own retry time.
  assert.equal(b.failed(a, 3500), true);
  assert.equal(b.allowance(a, 3000), 0);
  assert.equal(b.allowance(a, 3500), 1);
  // The probe gets an answer: everything goes again.
  b.succeeded(a);
  assert.equal(b.allowance(a, 3500), Infinity);
});

test("each webhook and endpoint has its own breaker: a corrected endpoint starts afresh", () => {
  const b = new DeliveryBreaker(1);
  b.failed(a, 5000);
  assert.equal(b.allowance(a, 1000), 0);
  assert.equal(b.allowance(breakerTarget("default/a", "https://fixed.example/hook"), 1000), Infinity);
  assert.equal(b.allowance(breakerTarget("default/b", "https://a.example/hook"), 1000), Infinity);
});
