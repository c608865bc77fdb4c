import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  compileAddressGuard,
  compileNetworkMatcher,
  EndpointAddressForbiddenError,
  parseIp,
  parseNetwork,
  specialRange,
} from "../../../relay/deliver/address-guard.ts";

describe("specialRange", () => {
  test("public unicast addresses belong to no special range", () => {
    for (const address of ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2001:4860:4860::8888", "2606:4700::1111", "64:ff9b::808:808"]) {
      assert.equal(specialRange(address), null, address);
    }
  });

  test("names the range of every non-public IPv4 address", () => {
    const cases: [string, string][] = [
      ["0.0.0.0", "unspecified"],
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["192.168.1.1", "private"],
      ["100.64.0.1", "shared address space (CGNAT)"],
      ["100.127.255.254", "shared address space (CGNAT)"],
      ["127.0.0.1", "loopback"],
      ["127.255.255.254", "loopback"],
      ["169.254.169.254", "link-local"],
      ["192.0.0.8", "reserved"],
      ["192.0.2.1", "documentation"],
      ["198.18.0.1", "benchmarking"],
      ["224.0.0.251", "multicast"],
      ["239.255.255.250", "multicast"],
      ["240.0.0.1", "reserved"],
      ["255.255.255.255", "reserved"],
    ];
    for (const [address, range] of cases) assert.equal(specialRange(address), range, address);
  });

  test("does not overreach past range edges", () => {
    for (const address of ["172.15.255.255", "172.32.0.0", "100.63.255.255", "100.128.0.0", "11.0.0.0", "9.255.255.255", "223.255.255.255"]) {
      assert.equal(specialRange(address), null, address);
    }
  });

  test("names the range of every non-public IPv6 address", () => {
    const cases: [string, string][] = [
      ["::", "unspecified"],
      ["::1", "loopback"],
      ["0:0:0:0:0:0:0:1", "loopback"],
      ["fd00::1", "unique-local"],
      ["fc12:3456::1", "unique-local"],
      ["fe80::1", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["fec0::1", "site-local"],
      ["ff02::1", "multicast"],
      ["2001:db8::1", "documentation"],
      ["2001::1", "reserved"],
      ["2002:7f00:1::", "reserved"],
      ["100::1", "not global unicast"],
      ["::7f00:1", "not global unicast"],
      ["64:ff9b:1::a00:1", "not global unicast"],
    ];
    for (const [address, range] of cases) assert.equal(specialRange(address), range, address);
  });

  test("judges IPv4-mapped and NAT64 addresses by the IPv4 address they carry", () => {
    assert.equal(specialRange("::ffff:127.0.0.1"), "loopback");
    assert.equal(specialRange("::ffff:7f00:1"), "loopback");
    assert.equal(specialRange("::ffff:10.0.0.1"), "private");
    assert.equal(specialRange("::ffff:169.254.169.254"), "link-local");
    assert.equal(specialRange("64:ff9b::10.0.0.1"), "private");
    assert.equal(specialRange("::ffff:8.8.8.8"), null);
  });

  test("something that is not an address is never public", () => {
    for (const text of ["localhost", "", "1.2.3", "::g", "999.1.1.1"]) assert.equal(specialRange(text), "not an IP address", text);
  });
});

describe("compileAddressGuard", () => {
  test("with no allowed networks, refuses every special range and allows public addresses", () => {
    const guard = compileAddressGuard([]);
    assert.deepEqual(guard("127.0.0.1"), { allowed: false, range: "loopback" });
    assert.deepEqual(guard("::1"), { allowed: false, range: "loopback" });
    assert.deepEqual(guard("10.0.0.5"), { allowed: false, range: "private" });
    assert.deepEqual(guard("8.8.8.8"), { allowed: true });
  });

  test("allows what an allowed network contains, and only that", () => {
    const guard = compileAddressGuard(["127.0.0.0/8", "10.1.0.0/16", "fd00::/8", "192.168.7.7"]);
    assert.deepEqual(guard("127.0.0.1"), { allowed: true });
    assert.deepEqual(guard("10.1.255.1"), { allowed: true });
    assert.deepEqual(guard("10.2.0.1"), { allowed: false, range: "private" });
    assert.deepEqual(guard("fd12::1"), { allowed: true });
    assert.deepEqual(guard("fc00::1"), { allowed: false, range: "unique-local" });
    assert.deepEqual(guard("192.168.7.7"), { allowed: true });
    assert.deepEqual(guard("192.168.7.8"), { allowed: false, range: "private" });
    assert.deepEqual(guard("::1"), { allowed: false, range: "loopback" });
  });

  test("an IPv4 allowance covers the IPv4-mapped form of the same address", () => {
    const guard = compileAddressGuard(["127.0.0.0/8"]);
    assert.deepEqual(guard("::ffff:127.0.0.1"), { allowed: true });
  });

  test("a prefix that is not byte-aligned is honoured", () => {
    const guard = compileAddressGuard(["100.64.0.0/10"]);
    assert.deepEqual(guard("100.127.0.1"), { allowed: true });
    assert.deepEqual(compileAddressGuard(["172.16.0.0/13"])("172.24.0.1"), { allowed: false, range: "private" });
  });

  test("everything may be allowed explicitly", () => {
    const guard = compileAddressGuard(["0.0.0.0/0", "::/0"]);
    assert.deepEqual(guard("127.0.0.1"), { allowed: true });
    assert.deepEqual(guard("fe80::1"), { allowed: true });
  });
});

describe("parsing", () => {
  test("parses IPv4, IPv6, compressed and dotted-quad IPv6", () => {
    assert.deepEqual([...(parseIp("192.168.0.1") ?? [])], [192, 168, 0, 1]);
    assert.deepEqual([...(parseIp("::1") ?? [])], [...Array<number>(15).fill(0), 1]);
    assert.deepEqual([...(parseIp("1:2::3") ?? [])], [0, 1, 0, 2, ...Array<number>(10).fill(0), 0, 3]);
    assert.deepEqual(parseIp("::ffff:1.2.3.4"), parseIp("::ffff:102:304"));
    assert.equal(parseIp("example.com"), null);
  });

  test("refuses networks that are not CIDR", () => {
    for (const text of ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0.0/-1", "example.com/8", "10.0.0.0/0x8"]) {
      assert.throws(() => parseNetwork(text), /invalid network/, text);
    }
  });

  test("the refusal error carries a stable code, the address and the range", () => {
    const error = new EndpointAddressForbiddenError("10.0.0.1", "private");
    assert.equal(error.code, "ENDPOINT_ADDRESS_FORBIDDEN");
    assert.match(error.message, /10\.0\.0\.1 is private; list it in endpoints\.allowNetworks/);
  });
});

test("a network matcher takes IPv4, IPv6 and IPv4-mapped addresses, and nothing outside its networks", () => {
  const inside = compileNetworkMatcher(["10.0.0.0/8", "fd00::/8", "192.0.2.7"]);
  assert.equal(inside("10.1.2.3"), true);
  assert.equal(inside("::ffff:10.1.2.3"), true);
  assert.equal(inside("fd12::1"), true);
  assert.equal(inside("192.0.2.7"), true);
  assert.equal(inside("192.0.2.8"), false);
  assert.equal(inside("11.0.0.1"), false);
  assert.equal(inside("not an address"), false);
  assert.equal(compileNetworkMatcher([])("10.0.0.1"), false);
  // An IPv4 network written in IPv4-mapped form means the IPv4 network.
  assert.equal(compileNetworkMatcher(["::ffff:127.0.0.0/104"])("127.0.0.1"), true);
});
