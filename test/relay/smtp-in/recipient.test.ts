import assert from "node:assert/strict";
import { test } from "node:test";
import { checkRecipientAddress } from "../../../relay/smtp-in/recipient.ts";

const domains = new Set(["example.com", "xn--bcher-kva.example"]);
const reason = (address: string) => {
  const checked = checkRecipientAddress(address, domains);
  return checked.ok ? checked.address : `${checked.refusal.code} ${checked.refusal.enhanced} ${checked.refusal.reason}`;
};

test("an address in an accepted domain is normalised to a lower-case ASCII domain, local part kept", () => {
  assert.equal(reason("Jane.Doe@Example.COM"), "Jane.Doe@example.com");
  assert.equal(reason("user@bücher.example"), "user@xn--bcher-kva.example");
  assert.equal(reason('"quoted local"@example.com'), '"quoted local"@example.com');
});

test("other domains, subdomains and look-alikes are relaying and refused", () => {
  for (const address of ["a@other.example", "a@sub.example.com", "a@example.com.evil.example", "a@examplecom", "a@[192.0.2.1]", "a@[IPv6:::1]"]) {
    assert.equal(reason(address), "550 5.7.1 unknown_domain", address);
  }
});

test("routing through the local part and domainless recipients are refused", () => {
  assert.equal(reason("a%other.example@example.com"), "550 5.7.1 invalid_recipient");
  assert.equal(reason("other.example!a@example.com"), "550 5.7.1 invalid_recipient");
  assert.equal(reason("postmaster"), "550 5.1.1 invalid_recipient");
});
