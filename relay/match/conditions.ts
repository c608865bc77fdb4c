// Which InboundWebhooks a received mail goes to. Pure: webhooks are compiled once per configuration
// load; a mail is then matched against the compiled form with no I/O.
//
// Rules (SPEC section 2, InboundWebhook):
// - all conditions of a webhook must match (AND);
// - header names compare case-insensitively;
// - `To` means the envelope recipient (RCPT TO), never the To header; a webhook's To conditions
//   are checked per recipient, the other conditions once per mail;
// - a header that appears several times matches when any occurrence matches;
// - a header the mail does not have never matches, even with a pattern that accepts the empty
//   string (so `Subject: ^$` means "present and empty");
// - patterns find anywhere in the value (anchor with ^ and $), RE2 syntax, linear time;
// - one delivery per matching active webhook and matching envelope recipient; suspended webhooks
//   get none, but their matches are counted so the session can answer "try later" instead of
//   refusing mail that a resumed webhook would take.
import type { InboundWebhookConfig } from "../config/schema.ts";
import type { HeaderField } from "./header-block.ts";
import { compilePattern, type SafePattern } from "./safe-regex.ts";

/** What RCPT TO can know from the envelope alone: may some webhook take mail for this recipient? */
export type RecipientVerdict = "active" | "suspended-only" | "none";

interface CompiledCondition {
  /** Shared by every condition with the same header and pattern, so a mail evaluates each once. */
  readonly id: number;
  readonly pattern: SafePattern;
}

export interface WebhookMatcher {
  readonly key: string;
  readonly suspended: boolean;
  /** Conditions on the envelope recipient (`To`). */
  readonly recipientConditions: readonly CompiledCondition[];
  /** Conditions on the message headers; `name` is lower-case. */
  readonly headerConditions: readonly (CompiledCondition & { readonly name: string })[];
}

export interface Matchers {
  /** In the order of the configuration (sorted by key), which orders deliveries too. */
  readonly webhooks: readonly WebhookMatcher[];
}

export interface MatcherError {
  /** `namespace/name` of the webhook that was left out. */
  key: string;
  /** The field at fault, e.g. `team-a/orders.spec.conditions[1].pattern`. */
  path: string;
  message: string;
}

export interface Delivery {
  webhookKey: string;
  recipient: string;
}

export interface MatchResult {
  /** One per matching active webhook × matching envelope recipient, webhook order then recipient order. */
  deliveries: Delivery[];
  /** (suspended webhook, recipient) pairs that would have matched. */
  suspendedMatches: number;
  /** Envelope recipients no active webhook matched. */
  unmatchedRecipients: string[];
}

const fieldName = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * Compiles every webhook's conditions. A webhook with an invalid condition is left out and reported
 * with the exact field; the others are unaffected.
 */
export function compileMatchers(webhooks: readonly InboundWebhookConfig[]): { matchers: Matchers; errors: MatcherError[] } {
  const compiled: WebhookMatcher[] = [];
  const errors: MatcherError[] = [];
  const patterns = new Map<string, SafePattern>();
  const ids = new Map<string, number>();
  const conditionId = (header: string, source: string) => {
    const k = `${header}\0${source}`;
    let id = ids.get(k);
    if (id === undefined) ids.set(k, (id = ids.size));
    return id;
  };

  for (const webhook of webhooks) {
    const at = `${webhook.key}.spec.conditions`;
    const recipientConditions: CompiledCondition[] = [];
    const headerConditions: (CompiledCondition & { name: string })[] = [];
    const problems: MatcherError[] = [];
    if (webhook.conditions.length === 0) {
      problems.push({ key: webhook.key, path: at, message: "at least one condition is required" });
    }
    webhook.conditions.forEach((condition, i) => {
      if (!fieldName.test(condition.header)) {
        problems.push({
          key: webhook.key,
          path: `${at}[${i}].header`,
          message: `invalid header name ${JSON.stringify(condition.header)}: printable ASCII without spaces or colon expected`,
        });
        return;
      }
      let pattern = patterns.get(condition.pattern);
      if (!pattern) {
        try {
          pattern = compilePattern(condition.pattern);
        } catch (err) {
          problems.push({ key: webhook.key, path: `${at}[${i}].pattern`, message: err instanceof Error ? err.message : String(err) });
          return;
        }
        patterns.set(condition.pattern, pattern);
      }
      const name = condition.header.toLowerCase();
      const id = conditionId(name, condition.pattern);
      if (name === "to") recipientConditions.push({ id, pattern });
      else headerConditions.push({ id, pattern, name });
    });
    if (problems.length > 0) errors.push(...problems);
    else compiled.push({ key: webhook.key, suspended: webhook.suspended, recipientConditions, headerConditions });
  }
  return { matchers: { webhooks: compiled }, errors };
}

/**
 * For RCPT TO, from the envelope alone (To conditions only): "active" when an active webhook may
 * take mail for `recipient`, "suspended-only" when only suspended ones may, else "none".
 */
export function recipientMayMatch(matchers: Matchers, recipient: string): RecipientVerdict {
  let suspended = false;
  for (const webhook of matchers.webhooks) {
    if (!webhook.recipientConditions.every((c) => c.pattern.test(recipient))) continue;
    if (!webhook.suspended) return "active";
    suspended = true;
  }
  return suspended ? "suspended-only" : "none";
}

/** Decides the deliveries of one mail: its header fields and its envelope recipients. */
export function matchMessage(matchers: Matchers, headers: readonly HeaderField[], recipients: readonly string[]): MatchResult {
  const values = new Map<string, string[]>();
  for (const { name, value } of headers) {
    const lower = name.toLowerCase();
    const list = values.get(lower);
    if (list) list.push(value);
    else values.set(lower, [value]);
  }
  const headerResults = new Map<number, boolean>();
  const headerMatches = (c: CompiledCondition & { name: string }) => {
    let result = headerResults.get(c.id);
    if (result === undefined) {
      result = values.get(c.name)?.some((v) => c.pattern.test(v)) ?? false;
      headerResults.set(c.id, result);
    }
    return result;
  };
  const recipientResults = new Map<number, boolean[]>();
  const recipientMatches = (c: CompiledCondition, index: number, recipient: string) => {
    let results = recipientResults.get(c.id);
    if (!results) recipientResults.set(c.id, (results = []));
    return (results[index] ??= c.pattern.test(recipient));
  };

  const deliveries: Delivery[] = [];
  const delivered = new Set<number>();
  let suspendedMatches = 0;
  for (const webhook of matchers.webhooks) {
    if (!webhook.headerConditions.every(headerMatches)) continue;
    recipients.forEach((recipient, index) => {
      if (!webhook.recipientConditions.every((c) => recipientMatches(c, index, recipient))) return;
      if (webhook.suspended) {
        suspendedMatches++;
      } else {
        deliveries.push({ webhookKey: webhook.key, recipient });
        delivered.add(index);
      }
    });
  }
  return { deliveries, suspendedMatches, unmatchedRecipients: recipients.filter((_, i) => !delivered.has(i)) };
}
