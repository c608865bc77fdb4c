import assert from "node:assert/strict";
import { test } from "node:test";
import { compilePattern, MAX_PATTERN_LENGTH } from "../../../relay/match/safe-regex.ts";

test("a pattern matches anywhere in the value unless the user anchors it", () => {
  assert.equal(compilePattern("invoice").test("Re: your invoice #12"), true);
  assert.equal(compilePattern("^invoice").test("Re: your invoice #12"), false);
  assert.equal(compilePattern("^support@example\\.com$").test("support@example.com"), true);
  assert.equal(compilePattern("^support@example\\.com$").test("xsupport@example.com"), false);
  assert.equal(compilePattern("(?i)INVOICE").test("your invoice"), true);
  assert.equal(compilePattern("請求書").test("【重要】請求書の送付"), true);
});

test("an invalid pattern is refused with INVALID_PATTERN and the engine's description", () => {
  assert.throws(() => compilePattern("(a"), { code: "INVALID_PATTERN", message: /invalid pattern "\(a": .*missing closing \)/ });
  assert.throws(() => compilePattern("[z-a]"), { code: "INVALID_PATTERN", message: /invalid character class range/ });
});

test("backreferences and lookaround, which need backtracking, are not RE2 syntax", () => {
  assert.throws(() => compilePattern("(a)\\1"), { code: "INVALID_PATTERN", message: /invalid escape sequence/ });
  assert.throws(() => compilePattern("foo(?=bar)"), { code: "INVALID_PATTERN", message: /unsupported Perl syntax/ });
  assert.throws(() => compilePattern("(?<=a)b"), { code: "INVALID_PATTERN" });
});

test("overlong and overly complex patterns are refused at load", () => {
  assert.throws(() => compilePattern("a".repeat(MAX_PATTERN_LENGTH + 1)), { code: "INVALID_PATTERN", message: /longer than 4096 characters/ });
  assert.throws(() => compilePattern("[ab]{1000}[cd]{1000}[ef]{1000}"), { code: "INVALID_PATTERN", message: /too complex/ });
  assert.throws(() => compilePattern("(a{1000}){1000}"), { code: "INVALID_PATTERN", message: /invalid repeat count/ });
});

test("catastrophic-backtracking patterns complete on a 100 KB value (linear engine)", () => {
  const hostile = `${"a".repeat(100_000)}!`;
  assert.equal(compilePattern("(a+)+$").test(hostile), false);
  assert.equal(compilePattern("^(a|aa)+$").test(hostile), false);
  assert.equal(compilePattern("(.*a){20}!").test(hostile), true);
});
