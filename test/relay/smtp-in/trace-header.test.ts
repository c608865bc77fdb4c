import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_RECEIVED_HEADER_BYTES, receivedHeader } from "../../../relay/smtp-in/trace-header.ts";

const date = new Date("2025-06-03T10:00:00Z");

test("the Received field names the client, its address, this server, the protocol and the time", () => {
  const header = receivedHeader({ helo: "client.test", remoteAddress: "192.0.2.7", hostname: "mx.test", protocol: "ESMTPS", date });
  assert.equal(header.toString(), "Received: from client.test ([192.0.2.7])\r\n\tby mx.test with ESMTPS;\r\n\tTue, 03 Jun 2025 10:00:00 +0000\r\n");
});

test("an IPv6 client is written as an address literal", () => {
  const header = receivedHeader({ helo: "[IPv6:::1]", remoteAddress: "::1", hostname: "mx.test", protocol: "ESMTP", date });
  assert.match(header.toString(), /^Received: from \[IPv6:::1\] \(\[IPv6:::1\]\)\r\n/);
});

test("a hostile HELO name cannot inject header lines", () => {
  const header = receivedHeader({ helo: "evil\r\nBcc: victim@example.com", remoteAddress: "192.0.2.7", hostname: "mx.test", protocol: "ESMTP", date });
  assert.equal(header.toString().split("\r\n").length, 4);
  assert.match(header.toString(), /^Received: from evilBcc:victimexample\.com \(/);
});

test("the field stays within its documented bound whatever the names", () => {
  const long = "h".repeat(5000);
  const header = receivedHeader({ helo: long, remoteAddress: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", hostname: long, protocol: "ESMTPSA", date });
  assert.ok(header.length <= MAX_RECEIVED_HEADER_BYTES);
});
