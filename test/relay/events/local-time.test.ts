import assert from "node:assert/strict";
import { test } from "node:test";
import { formatLocalTime, isTimeZone } from "../../../relay/events/local-time.ts";

const at = (iso: string) => Date.parse(iso);

test("Asia/Tokyo is UTC+9 all year, and midnight is written 00, never 24", () => {
  assert.equal(formatLocalTime(at("2024-12-31T15:00:00Z"), "Asia/Tokyo"), "2025-01-01 00:00:00");
  assert.equal(formatLocalTime(at("2024-07-01T14:59:59.999Z"), "Asia/Tokyo"), "2024-07-01 23:59:59");
  assert.equal(formatLocalTime(at("2015-12-14T01:53:52Z"), "Asia/Tokyo"), "2015-12-14 10:53:52");
});

test("America/New_York springs forward: 01:59:59 EST is followed by 03:00:00 EDT", () => {
  assert.equal(formatLocalTime(at("2024-03-10T06:59:59Z"), "America/New_York"), "2024-03-10 01:59:59");
  assert.equal(formatLocalTime(at("2024-03-10T07:00:00Z"), "America/New_York"), "2024-03-10 03:00:00");
});

test("America/New_York falls back: 01:30 happens twice, an hour apart", () => {
  assert.equal(formatLocalTime(at("2024-11-03T05:30:00Z"), "America/New_York"), "2024-11-03 01:30:00"); // EDT
  assert.equal(formatLocalTime(at("2024-11-03T06:30:00Z"), "America/New_York"), "2024-11-03 01:30:00"); // EST
  assert.equal(formatLocalTime(at("2024-11-03T07:00:00Z"), "America/New_York"), "2024-11-03 02:00:00");
});

test("Europe/London switches between GMT and BST at 01:00 UTC", () => {
  assert.equal(formatLocalTime(at("2024-03-31T00:59:59Z"), "Europe/London"), "2024-03-31 00:59:59");
  assert.equal(formatLocalTime(at("2024-03-31T01:00:00Z"), "Europe/London"), "2024-03-31 02:00:00");
  assert.equal(formatLocalTime(at("2024-10-27T00:30:00Z"), "Europe/London"), "2024-10-27 01:30:00"); // BST
  assert.equal(formatLocalTime(at("2024-10-27T01:30:00Z"), "Europe/London"), "2024-10-27 01:30:00"); // GMT
});

test("UTC and fractional milliseconds: seconds are truncated, not rounded", () => {
  assert.equal(formatLocalTime(at("2024-02-29T23:59:59.999Z"), "UTC"), "2024-02-29 23:59:59");
  assert.equal(formatLocalTime(0, "UTC"), "1970-01-01 00:00:00");
});

test("years before 1000 keep four digits", () => {
  assert.equal(formatLocalTime(at("0999-06-01T00:00:00Z"), "UTC"), "0999-06-01 00:00:00");
});

test("an impossible instant or an unknown zone is a RangeError, not a garbled date", () => {
  for (const ms of [NaN, Infinity, -Infinity, 8.64e15 + 1, at("-000005-01-01T00:00:00Z")]) {
    assert.throws(() => formatLocalTime(ms, "UTC"), RangeError, String(ms));
  }
  assert.throws(() => formatLocalTime(0, "Mars/Olympus_Mons"), RangeError);
});

test("the same zone formats the same way however many times it is used (formatters are cached)", () => {
  const ms = at("2024-06-01T12:00:00Z");
  const first = formatLocalTime(ms, "Europe/Paris");
  for (let i = 0; i < 1000; i++) assert.equal(formatLocalTime(ms, "Europe/Paris"), first);
  assert.equal(first, "2024-06-01 14:00:00");
});

test("isTimeZone knows IANA names and links, and refuses other spellings ICU would take", () => {
  for (const zone of ["Asia/Tokyo", "UTC", "GMT", "Etc/GMT-14", "US/Eastern", "Japan", "Asia/Kolkata", "America/Indiana/Tell_City"]) assert.equal(isTimeZone(zone), true, zone);
  for (const zone of ["asia/tokyo", "+09:00", "Z", "Asia/Atlantis", "", " UTC", "Asia//Tokyo", `A${"a".repeat(64)}`, "Asia/Tokyo\n"]) {
    assert.equal(isTimeZone(zone), false, JSON.stringify(zone));
  }
});
