import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { orderMx } from "../../../relay/outbound/mx-order.ts";

/** A fixed sequence standing in for Math.random. */
const sequence = (...values: number[]) => () => values.shift() ?? 0;

describe("ordering MX records", () => {
  test("lower preference comes first, whatever the order DNS returned", () => {
    const hosts = orderMx([
      { exchange: "c.example.org", priority: 30 },
      { exchange: "a.example.org", priority: 10 },
      { exchange: "b.example.org", priority: 20 },
    ]);
    assert.deepEqual(hosts, { kind: "hosts", hosts: ["a.example.org", "b.example.org", "c.example.org"] });
  });

  test("hosts of equal preference come in random order", () => {
    const records = [
      { exchange: "a.example.org", priority: 10 },
      { exchange: "b.example.org", priority: 10 },
      { exchange: "z.example.org", priority: 5 },
    ];
    assert.deepEqual(orderMx(records, sequence(0.99)), { kind: "hosts", hosts: ["z.example.org", "a.example.org", "b.example.org"] });
    assert.deepEqual(orderMx(records, sequence(0)), { kind: "hosts", hosts: ["z.example.org", "b.example.org", "a.example.org"] });
  });

  test("over many draws with Math.random, each of two equal hosts comes first sometimes", () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const ordered = orderMx([{ exchange: "a.example.org", priority: 10 }, { exchange: "b.example.org", priority: 10 }]);
      if (ordered.kind === "hosts") firsts.add(ordered.hosts[0]!);
    }
    assert.deepEqual([...firsts].sort(), ["a.example.org", "b.example.org"]);
  });

  test("names are lower-cased, a trailing dot dropped and duplicates kept once, at their best preference", () => {
    const hosts = orderMx([
      { exchange: "MX.Example.org.", priority: 20 },
      { exchange: "mx.example.org", priority: 10 },
    ]);
    assert.deepEqual(hosts, { kind: "hosts", hosts: ["mx.example.org"] });
  });

  test("a lone '.' record is a null MX (RFC 7505)", () => {
    assert.deepEqual(orderMx([{ exchange: "", priority: 0 }]), { kind: "null-mx" });
    assert.deepEqual(orderMx([{ exchange: ".", priority: 0 }]), { kind: "null-mx" });
  });

  test("a '.' beside real records is ignored: the real records are the domain's intent", () => {
    assert.deepEqual(orderMx([{ exchange: "", priority: 0 }, { exchange: "mx.example.org", priority: 10 }]), { kind: "hosts", hosts: ["mx.example.org"] });
  });

  test("no records give no hosts", () => {
    assert.deepEqual(orderMx([]), { kind: "hosts", hosts: [] });
  });
});
