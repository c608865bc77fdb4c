// Patterns from InboundWebhooks run against headers written by strangers, so they are compiled by
// re2js: an RE2 engine whose matching time is linear in the input (no backtracking, hence no
// catastrophic patterns such as `(a+)+$`). RE2 syntax has no backreferences or lookaround; a pattern
// using them is refused here, at load, with the engine's own description of the problem.
import { RE2JS } from "re2js";

/** Longest pattern source accepted, in UTF-16 code units. */
export const MAX_PATTERN_LENGTH = 4096;
/**
 * Largest compiled program accepted. Matching is linear, but when RE2's DFA gives up (patterns with
 * large counted repetitions) the fallback costs about program size × input length per header, so a
 * bound here bounds the CPU one message can cost. Real header patterns stay far below it (an
 * alternation of 100 addresses compiles to about 2,000).
 */
export const MAX_PROGRAM_SIZE = 3000;

/** A compiled pattern with "find anywhere" semantics, like `RegExp.prototype.test`. */
export interface SafePattern {
  readonly source: string;
  /** True when the pattern matches somewhere in `input` (anchor with `^`/`$` to match it whole). */
  test(input: string): boolean;
}

export class PatternError extends Error {
  readonly code = "INVALID_PATTERN";
  readonly pattern: string;
  constructor(pattern: string, problem: string) {
    super(`invalid pattern ${JSON.stringify(abbreviate(pattern))}: ${problem}`);
    this.name = "PatternError";
    this.pattern = pattern;
  }
}

/** Compiles `source` (RE2 syntax; flags inline, e.g. `(?i)`), or throws a PatternError naming the problem. */
export function compilePattern(source: string): SafePattern {
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new PatternError(source, `longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    // re2js messages read like "error parsing regexp: missing closing ): `(a`"; keep them whole.
    throw new PatternError(source, err instanceof Error ? err.message : String(err));
  }
  const size = re.programSize();
  if (size > MAX_PROGRAM_SIZE) {
    throw new PatternError(source, `too complex (compiled size ${size}, limit ${MAX_PROGRAM_SIZE}); use smaller repetition counts`);
  }
  return { source, test: (input) => re.test(input) };
}

function abbreviate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
