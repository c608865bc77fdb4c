// Failure causes (named as in the Sisimai bounce-analysis library, which labels our test corpus) and
// the error status each one carries in a `bounced` event (SPEC section 2.1). Pure data.

export const REASONS = [
  "hostunknown",
  "userunknown",
  "expired",
  "rejected",
  "blocked",
  "filtered",
  "policyviolation",
  "spamdetected",
  "norelaying",
  "securityerror",
  "virusdetected",
  "notaccept",
  "authfailure",
  "requireptr",
  "badreputation",
  "notcompliantrfc",
  "speeding",
  "toomanyconn",
  "failedstarttls",
  "contenterror",
  "mailboxfull",
  "exceedlimit",
  "systemfull",
  "hasmoved",
  "systemerror",
  "mailererror",
  "networkerror",
  "syntaxerror",
  "mesgtoobig",
  "suspend",
  "onhold",
  "undefined",
  // Not failures: a mail carrying only these is not a bounce.
  "feedback",
  "vacation",
  "delivered",
] as const;

export type Reason = (typeof REASONS)[number];

/** SPEC 2.1: 1 unknown host … 11 unsubscribed, 99 other. 9–11 are set by the relay, never by analysis. */
export type ErrorStatus = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 99;

const ERROR_STATUS: Readonly<Record<Reason, ErrorStatus | null>> = {
  hostunknown: 1,
  userunknown: 2,
  expired: 3,
  rejected: 4,
  blocked: 4,
  filtered: 4,
  policyviolation: 4,
  spamdetected: 4,
  norelaying: 4,
  securityerror: 4,
  virusdetected: 4,
  notaccept: 4,
  authfailure: 4,
  requireptr: 4,
  badreputation: 4,
  notcompliantrfc: 4,
  speeding: 4,
  toomanyconn: 4,
  failedstarttls: 4,
  contenterror: 4,
  mailboxfull: 5,
  exceedlimit: 5,
  systemfull: 5,
  hasmoved: 6,
  systemerror: 7,
  mailererror: 7,
  networkerror: 7,
  syntaxerror: 7,
  mesgtoobig: 8,
  suspend: 99,
  onhold: 99,
  undefined: 99,
  feedback: null,
  vacation: null,
  delivered: null,
};

/** The error status of a `bounced` event for `reason`; null for the reasons that are not failures. */
export function errorStatusOf(reason: Reason): ErrorStatus | null {
  return ERROR_STATUS[reason];
}
