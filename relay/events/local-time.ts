// Event times as the seed service writes them: local wall-clock time `YYYY-MM-DD HH:MM:SS`, no offset,
// in the EventWebhook's IANA time zone (SPEC 2.1). Pure; the zone rules come from the ICU data built
// into Node, so the relay and the operator's validation agree on which zones exist.
//
// During a DST fall-back the same local time happens twice; the seed format has no offset to tell the
// two apart, so neither can we: receivers that need an unambiguous instant should use UTC.

/** IANA names: `Area/Location[/Sub]` or a single word (`UTC`), every part starting with a capital. */
export const timeZoneNamePattern = /^[A-Z][A-Za-z0-9_+-]*(\/[A-Z][A-Za-z0-9_+-]*)*$/;
export const maxTimeZoneNameLength = 64;

/** One formatter per zone: building one costs far more than formatting with it. */
const formatters = new Map<string, Intl.DateTimeFormat>();
/** Zone names are few (~600 in the database); the bound only guards against a caller gone wrong. */
const maxCachedFormatters = 1024;

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // en-US and formatToParts: only the numeric parts are used, so the locale's order does not matter;
    // h23 writes midnight as 00, never 24.
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    if (formatters.size >= maxCachedFormatters) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Whether `name` is a time zone of the IANA database, written as the database writes it (`Asia/Tokyo`,
 * `America/Argentina/Buenos_Aires`, `UTC`; links such as `Asia/Calcutta` or `US/Eastern` too). ICU
 * itself also takes `asia/tokyo` and offsets like `+09:00`; those are refused so a manifest means the
 * same to every tool that reads it.
 */
export function isTimeZone(name: string): boolean {
  if (name.length > maxTimeZoneNameLength || !timeZoneNamePattern.test(name)) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** The first and last instants a four-digit local year can show in any zone (±14 h of slack). */
const earliest = Date.parse("0001-01-02T00:00:00Z");
const latest = Date.parse("9999-12-30T23:59:59Z");

/**
 * `YYYY-MM-DD HH:MM:SS` for the instant `ms` (milliseconds since the epoch) in `timeZone`. Throws a
 * RangeError for an unknown zone or an instant outside years 1–9999.
 */
export function formatLocalTime(ms: number, timeZone: string): string {
  if (!Number.isFinite(ms) || ms < earliest || ms > latest) throw new RangeError(`event time ${ms} is out of range`);
  const parts: Record<string, string> = {};
  for (const { type, value } of formatter(timeZone).formatToParts(ms)) parts[type] = value;
  const year = (parts.year ?? "").padStart(4, "0");
  return `${year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}
