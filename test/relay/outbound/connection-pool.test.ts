import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ConnectionPool, type Lease, type PooledResource } from "../../../relay/outbound/connection-pool.ts";

class Resource implements PooledResource {
  alive = true;
  closed = false;
  close(): void {
    this.alive = false;
    this.closed = true;
  }
}

function pool(limits: Partial<{ maxPerKey: number; maxUses: number; idleMs: number; waitMs: number }> = {}) {
  const created: Resource[] = [];
  const p = new ConnectionPool<Resource>({ maxPerKey: 2, maxUses: 100, idleMs: 60_000, waitMs: 60_000, ...limits });
  const open = async () => {
    await sleep(1);
    const r = new Resource();
    created.push(r);
    return r;
  };
  return { p, open, created };
}

describe("the connection pool", () => {
  test("a caller behind a busy destination gives up its place after waitMs, and the queue goes on", async () => {
    const { p, open } = pool({ maxPerKey: 1, waitMs: 30 });
    const held = await p.acquire("a", open);
    await assert.rejects(p.acquire("a", open), { code: "OUTBOUND_DESTINATION_BUSY", message: /all 1 connections/ });
    const next = p.acquire("a", open);
    p.release(held, true);
    assert.equal((await next).resource, held.resource);
    p.release(await next, true);
    p.close();
  });

  test("a released resource is reused by the next caller for the same key", async () => {
    const { p, open, created } = pool();
    const first = await p.acquire("a", open);
    p.release(first, true);
    const second = await p.acquire("a", open);
    assert.equal(second.resource, first.resource);
    assert.deepEqual([second.reused, second.uses], [true, 1]);
    assert.equal(created.length, 1);
    p.release(second, true);
    p.close();
    assert.equal(created[0]!.closed, true);
  });

  test("keys do not share resources", async () => {
    const { p, open, created } = pool();
    p.release(await p.acquire("a", open), true);
    const b = await p.acquire("b", open);
    assert.equal(b.reused, false);
    assert.equal(created.length, 2);
    p.release(b, false);
    p.close();
  });

  test("no more than maxPerKey are open at once; the others wait in order and get freed ones", async () => {
    const { p, open, created } = pool({ maxPerKey: 2 });
    const order: number[] = [];
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const lease = await p.acquire("a", open);
        active++;
        peak = Math.max(peak, active);
        order.push(i);
        await sleep(2);
        active--;
        p.release(lease, true);
      }),
    );
    assert.equal(peak, 2);
    assert.equal(created.length, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(p.openCount("a"), 2);
    p.close();
    assert.equal(p.openCount("a"), 0);
  });

  test("a resource not reusable is closed and its slot goes to a waiter, who opens a new one", async () => {
    const { p, open, created } = pool({ maxPerKey: 1 });
    const first = await p.acquire("a", open);
    const waiting = p.acquire("a", open);
    p.release(first, false);
    const second = await waiting;
    assert.equal(first.resource.closed, true);
    assert.equal(second.reused, false);
    assert.equal(created.length, 2);
    p.release(second, false);
    assert.equal(p.openCount("a"), 0);
  });

  test("a resource is closed after maxUses", async () => {
    const { p, open } = pool({ maxUses: 2 });
    let lease: Lease<Resource> = await p.acquire("a", open);
    const resource = lease.resource;
    p.release(lease, true);
    lease = await p.acquire("a", open);
    assert.equal(lease.resource, resource);
    p.release(lease, true);
    assert.equal(resource.closed, true);
    assert.equal(p.openCount("a"), 0);
  });

  test("an idle resource found dead is dropped and a new one opened", async () => {
    const { p, open, created } = pool({ maxPerKey: 1 });
    const first = await p.acquire("a", open);
    p.release(first, true);
    first.resource.alive = false;
    const second = await p.acquire("a", open);
    assert.notEqual(second.resource, first.resource);
    assert.equal(created.length, 2);
    p.release(second, false);
  });

  test("an idle resource is closed after idleMs", async () => {
    const { p, open } = pool({ idleMs: 5 });
    const lease = await p.acquire("a", open);
    p.release(lease, true);
    while (!lease.resource.closed) await sleep(5);
    assert.equal(p.openCount("a"), 0);
  });

  test("a failed open frees its slot for the next waiter", async () => {
    const { p, open } = pool({ maxPerKey: 1 });
    const failing = p.acquire("a", async () => {
      await sleep(1);
      throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
    });
    const next = p.acquire("a", open);
    await assert.rejects(failing, { code: "ECONNREFUSED" });
    const lease = await next;
    assert.equal(lease.reused, false);
    p.release(lease, false);
    assert.equal(p.openCount("a"), 0);
  });

  test("closing refuses waiters and new callers, and closes what is released later", async () => {
    const { p, open } = pool({ maxPerKey: 1 });
    const leased = await p.acquire("a", open);
    const waiting = p.acquire("a", open);
    p.close();
    await assert.rejects(waiting, { code: "OUTBOUND_POOL_CLOSED" });
    await assert.rejects(p.acquire("a", open), { code: "OUTBOUND_POOL_CLOSED" });
    p.release(leased, true);
    assert.equal(leased.resource.closed, true);
  });
});
