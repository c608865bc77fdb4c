// SMTP reply codes (RFC 5321) and enhanced status codes (RFC 3463) found in free text. Pure.
// The patterns have fixed-size quantifiers only and no nesting, so they run in linear time.

// class.subject.detail, not part of a longer dotted number (an IP address, a version).
const ENHANCED = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/g;
// A three-digit reply code standing on its own: at the start or after a space, colon, bracket or
// transcript arrow, and followed by a space, a hyphen (multi-line replies), a colon or comma, or the end.
const REPLY = /(?:^|[\s:([<>"'=])([245][0-5]\d)(?=[\s\-:,]|$|\.\s)/gm;

/** The first enhanced status code in `text` ("" when none). */
export function findEnhancedStatus(text: string): string {
  for (const m of text.matchAll(ENHANCED)) {
    const status = `${m[1]}.${Number(m[2])}.${Number(m[3])}`;
    if (isEnhancedStatus(status)) return status;
  }
  return "";
}

/** The first SMTP reply code in `text` ("" when none). */
export function findReplyCode(text: string): string {
  for (const m of text.matchAll(REPLY)) return m[1]!;
  return "";
}

export function isEnhancedStatus(value: string): boolean {
  const parts = value.split(".");
  if (parts.length !== 3) return false;
  const [klass, subject, detail] = parts.map(Number) as [number, number, number];
  return (klass === 2 || klass === 4 || klass === 5) && subject <= 7 && detail <= 999;
}
