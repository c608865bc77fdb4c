// Failure → cause, by the rule tables in reason-rules.ts, compiled once at load. Pure.
import { RE2JS } from "re2js";
import { DECISIVE_STATUSES, DIAGNOSTIC_TYPE_RULES, REPLY_CODE_RULES, STATUS_RULES, TEXT_RULES } from "./reason-rules.ts";
import type { Reason } from "./reasons.ts";
import type { SmtpCommand } from "./smtp-command.ts";

/** Characters of a diagnostic that the text rules look at; real responses are far shorter. */
export const MAX_DIAGNOSTIC_CHARS = 8192;

export interface FailureFacts {
  /** The server's response or the report's explanation, as written. */
  readonly diagnostic: string;
  /** Enhanced status code ("5.1.1") or "". */
  readonly status: string;
  /** SMTP reply code ("550") or "". */
  readonly replyCode: string;
  /** DSN Action field, lower case, or "". */
  readonly action: string;
  /** The command the server was answering, when the report says. */
  readonly command: SmtpCommand;
  /** The rest of the report about this recipient, consulted when the diagnostic names no cause. */
  readonly context: string;
  /** The Diagnostic-Code's type, lower case ("smtp", "x-unix"), when the report is RFC 3464. */
  readonly diagnosticType?: string;
}

interface CompiledRule {
  readonly reason: Reason;
  readonly pattern: RE2JS;
}

// One alternation per cause: the number of scans over a diagnostic is the number of causes.
const COMPILED: readonly CompiledRule[] = TEXT_RULES.map((rule) => ({
  reason: rule.reason,
  pattern: RE2JS.compile(rule.patterns.map((p) => `(?:${p})`).join("|")),
}));

// Addresses and URL paths say nothing about the cause, but may contain words that do
// ("filtered@example.jp", "https://example.org/reason/#expired"). Both patterns are bounded, without
// nested quantifiers: linear.
const ADDRESS = /[^\s<>()"'[\]:;,]{1,64}@[a-z0-9.-]{1,255}/g;
const URL_PATH = /\b(https?:\/\/[a-z0-9.-]{1,255})[^\s]*/g;

/** Lower case, addresses and URL paths removed, runs of white space collapsed, bounded. */
export function normaliseDiagnostic(text: string): string {
  return text
    .slice(0, MAX_DIAGNOSTIC_CHARS)
    .toLowerCase()
    .replace(URL_PATH, "$1")
    .replace(ADDRESS, "address")
    .replace(/\s+/g, " ")
    .trim();
}

/** The cause named by the text of a diagnostic, or undefined. */
export function reasonFromText(diagnostic: string): Reason | undefined {
  const text = normaliseDiagnostic(diagnostic);
  if (text === "") return undefined;
  for (const rule of COMPILED) if (rule.pattern.test(text)) return rule.reason;
  return undefined;
}

/** The cause named by an enhanced status code alone, or undefined. */
export function reasonFromStatus(status: string): Reason | undefined {
  return STATUS_RULES[statusKey(status)];
}

/** "5.1.1" → "X.1.1": the rules do not depend on the class. */
function statusKey(status: string): string {
  const dot = status.indexOf(".");
  return dot === -1 ? "" : `X${status.slice(dot)}`;
}

export function classifyFailure(facts: FailureFacts): Reason {
  const reason = firstReason(facts);
  // Refused in answer to MAIL FROM: the sender was refused, whatever words the server chose.
  if (facts.command === "MAIL" && SENDER_REFUSED_INSTEAD.has(reason)) return "rejected";
  // Refused at connection or greeting: the sending host was refused.
  if ((facts.command === "CONN" || facts.command === "HELO") && SENDER_REFUSED_INSTEAD.has(reason)) return "blocked";
  // A temporary failure to find a host is a DNS problem, not a host that does not exist.
  if (reason === "hostunknown" && facts.status.startsWith("4")) return "networkerror";
  return reason;
}

const SENDER_REFUSED_INSTEAD: ReadonlySet<Reason> = new Set(["userunknown", "hostunknown", "filtered", "onhold", "undefined", "notaccept", "rejected"]);

function firstReason(facts: FailureFacts): Reason {
  const fromStatus = reasonFromStatus(facts.status);
  if (fromStatus !== undefined && DECISIVE_STATUSES.has(statusKey(facts.status))) return fromStatus;
  const fromDiagnostic = reasonFromText(facts.diagnostic);
  const fromType = DIAGNOSTIC_TYPE_RULES[facts.diagnosticType ?? ""];
  // A program's own words ("temporary failure", an exit code) came from the program, not a server.
  if (fromDiagnostic === undefined && fromType !== undefined && facts.diagnostic.trim() !== "") return fromType;
  const fromText = fromDiagnostic ?? (fromStatus === undefined ? reasonFromText(facts.context) : undefined);
  if (fromText === "userunknown") return refusedRecipient(facts, fromStatus);
  if (fromText !== undefined) return fromText;
  if (fromStatus !== undefined) return fromStatus;
  if (facts.action === "delayed") return "expired";
  const fromCode = REPLY_CODE_RULES[facts.replyCode];
  if (fromCode !== undefined) return fromCode;
  return "onhold";
}

// "User unknown" is the truth when the server said it to RCPT TO or with a status that means it; said
// to a later command (after the message was seen), it is a filter's way of refusing.
function refusedRecipient(facts: FailureFacts, fromStatus: Reason | undefined): Reason {
  if (fromStatus === "userunknown" || facts.command === "RCPT") return "userunknown";
  // X.2.1 "mailbox disabled, not accepting messages" with "user unknown" words: a filter.
  return facts.command === "DATA" || statusKey(facts.status) === "X.2.1" ? "filtered" : "userunknown";
}
