import assert from "node:assert/strict";
import { test } from "node:test";
import type { InboundWebhookConfig } from "../../../relay/config/schema.ts";
import { compileMatchers, matchMessage, recipientMayMatch } from "../../../relay/match/conditions.ts";
import type { HeaderField } from "../../../relay/match/header-block.ts";

function webhook(key: string, conditions: { header: string; pattern: string }[], suspended = false): InboundWebhookConfig {
  const [namespace = "", name = ""] = key.split("/");
  return {
    key,
    namespace,
    name,
    endpoint: "https://hooks.example/in",
    conditions,
    contentType: "multipart",
    auth: {},
    retry: { intervalSeconds: 60, periodDays: 3 },
    timeoutSeconds: 30,
    suspended,
  };
}

function compile(...webhooks: InboundWebhookConfig[]) {
  const { matchers, errors } = compileMatchers(webhooks);
  assert.deepEqual(errors, []);
  return matchers;
}

const headers = (...pairs: [string, string][]): HeaderField[] => pairs.map(([name, value]) => ({ name, value }));

test("all conditions of a webhook must match (AND)", () => {
  const m = compile(
    webhook("ns/orders", [
      { header: "To", pattern: "^orders@" },
      { header: "Subject", pattern: "(?i)order" },
      { header: "From", pattern: "@shop\\.example>?$" },
    ]),
  );
  const mail = headers(["From", "Shop <bot@shop.example>"], ["Subject", "New ORDER #1"]);
  assert.deepEqual(matchMessage(m, mail, ["orders@example.com"]).deliveries, [{ webhookKey: "ns/orders", recipient: "orders@example.com" }]);
  assert.deepEqual(matchMessage(m, headers(["From", "bot@shop.example"], ["Subject", "hello"]), ["orders@example.com"]).deliveries, []);
  assert.deepEqual(matchMessage(m, mail, ["sales@example.com"]).deliveries, []);
});

test("To is the envelope recipient, never the To header", () => {
  const m = compile(webhook("ns/support", [{ header: "To", pattern: "^support@example\\.com$" }]));
  const toHeader = headers(["To", "support@example.com"]);
  assert.deepEqual(matchMessage(m, toHeader, ["other@example.com"]).deliveries, []);
  assert.deepEqual(matchMessage(m, headers(["To", "undisclosed-recipients:;"]), ["support@example.com"]).deliveries, [
    { webhookKey: "ns/support", recipient: "support@example.com" },
  ]);
});

test("header names match case-insensitively on both sides", () => {
  const m = compile(webhook("ns/a", [{ header: "x-PRIORITY", pattern: "^high$" }]), webhook("ns/b", [{ header: "tO", pattern: "^b@" }]));
  const result = matchMessage(m, headers(["X-Priority", "high"]), ["b@example.com"]);
  assert.deepEqual(result.deliveries, [
    { webhookKey: "ns/a", recipient: "b@example.com" },
    { webhookKey: "ns/b", recipient: "b@example.com" },
  ]);
});

test("a header that appears several times matches when any occurrence matches", () => {
  const m = compile(webhook("ns/a", [{ header: "X-Tag", pattern: "^urgent$" }]));
  assert.equal(matchMessage(m, headers(["X-Tag", "low"], ["x-tag", "urgent"], ["X-Tag", "misc"]), ["a@example.com"]).deliveries.length, 1);
  assert.equal(matchMessage(m, headers(["X-Tag", "low"], ["X-Tag", "misc"]), ["a@example.com"]).deliveries.length, 0);
});

test("a missing header never matches, even a pattern that accepts the empty string", () => {
  const m = compile(webhook("ns/any", [{ header: "Subject", pattern: "" }]), webhook("ns/empty", [{ header: "Subject", pattern: "^$" }]));
  assert.deepEqual(matchMessage(m, headers(["From", "a@example.com"]), ["a@example.com"]).deliveries, []);
  assert.deepEqual(
    matchMessage(m, headers(["Subject", ""]), ["a@example.com"]).deliveries.map((d) => d.webhookKey),
    ["ns/any", "ns/empty"],
  );
});

test("one delivery per matching webhook and matching envelope recipient, unmatched recipients reported", () => {
  const m = compile(
    webhook("ns/all", [{ header: "Subject", pattern: "report" }]),
    webhook("ns/sales", [
      { header: "To", pattern: "^sales@" },
      { header: "Subject", pattern: "report" },
    ]),
  );
  const result = matchMessage(m, headers(["Subject", "weekly report"]), ["sales@example.com", "ops@example.com"]);
  assert.deepEqual(result.deliveries, [
    { webhookKey: "ns/all", recipient: "sales@example.com" },
    { webhookKey: "ns/all", recipient: "ops@example.com" },
    { webhookKey: "ns/sales", recipient: "sales@example.com" },
  ]);
  assert.deepEqual(result.unmatchedRecipients, []);
  const none = matchMessage(m, headers(["Subject", "hello"]), ["sales@example.com"]);
  assert.deepEqual(none, { deliveries: [], suspendedMatches: 0, unmatchedRecipients: ["sales@example.com"] });
});

test("suspended webhooks get no deliveries but their matches are counted", () => {
  const m = compile(
    webhook("ns/paused", [{ header: "To", pattern: "^a@" }], true),
    webhook("ns/live", [{ header: "To", pattern: "^b@" }]),
  );
  const result = matchMessage(m, [], ["a@example.com", "b@example.com"]);
  assert.deepEqual(result.deliveries, [{ webhookKey: "ns/live", recipient: "b@example.com" }]);
  assert.equal(result.suspendedMatches, 1);
  assert.deepEqual(result.unmatchedRecipients, ["a@example.com"]);
});

test("at RCPT, only To conditions decide whether a recipient may match", () => {
  const m = compile(
    webhook("ns/paused", [{ header: "To", pattern: "^(a|c)@" }], true),
    webhook("ns/live", [
      { header: "To", pattern: "^c@" },
      { header: "Subject", pattern: "never decided at RCPT" },
    ]),
  );
  assert.equal(recipientMayMatch(m, "a@example.com"), "suspended-only");
  assert.equal(recipientMayMatch(m, "c@example.com"), "active");
  assert.equal(recipientMayMatch(m, "z@example.com"), "none");
  assert.equal(recipientMayMatch(compile(webhook("ns/any", [{ header: "From", pattern: "x" }])), "z@example.com"), "active");
  assert.equal(recipientMayMatch(compile(), "z@example.com"), "none");
});

test("a webhook with a bad condition is left out with the exact path; the others keep working", () => {
  const { matchers, errors } = compileMatchers([
    webhook("team-a/broken", [
      { header: "From", pattern: "ok" },
      { header: "Subject", pattern: "(unclosed" },
    ]),
    webhook("team-a/bad-header", [{ header: "Sub ject", pattern: "x" }]),
    webhook("team-b/fine", [{ header: "Subject", pattern: "x" }]),
  ]);
  assert.deepEqual(
    errors.map((e) => [e.key, e.path]),
    [
      ["team-a/broken", "team-a/broken.spec.conditions[1].pattern"],
      ["team-a/bad-header", "team-a/bad-header.spec.conditions[0].header"],
    ],
  );
  assert.match(errors[0]!.message, /invalid pattern "\(unclosed": .*missing closing \)/);
  assert.deepEqual(
    matchers.webhooks.map((w) => w.key),
    ["team-b/fine"],
  );
  assert.equal(matchMessage(matchers, headers(["Subject", "x"]), ["a@example.com"]).deliveries.length, 1);
});

test("hostile patterns against a 100 KB header complete (linear engine)", () => {
  const m = compile(
    webhook("ns/evil", [{ header: "Subject", pattern: "(a+)+$" }]),
    webhook("ns/evil2", [{ header: "Subject", pattern: "^(a|aa)+$" }]),
    webhook("ns/evil3", [{ header: "To", pattern: "(x+x+)+y" }]),
  );
  const result = matchMessage(m, headers(["Subject", `${"a".repeat(100_000)}!`]), [`${"x".repeat(10_000)}@example.com`]);
  assert.deepEqual(result.deliveries, []);
});
