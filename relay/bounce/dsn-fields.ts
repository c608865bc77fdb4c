// RFC 3464 delivery-status fields: per-message fields, then one group per recipient. Pure.
// Real reports bend the rules (no blank line between recipients, fields folded oddly, the fields pasted
// into the plain text), so a group starts at every recipient field and lines that are not fields are
// skipped.

export interface DsnRecipient {
  /** From Final-Recipient (or Original-Recipient when that is all there is), without its type. */
  readonly address: string;
  readonly originalRecipient: string;
  /** Action, lower case: failed, delayed, delivered, relayed, expanded ("" when absent). */
  readonly action: string;
  readonly status: string;
  /** Diagnostic-Code without its type ("smtp;"), unfolded. */
  readonly diagnostic: string;
  /** The Diagnostic-Code's type, lower case ("smtp", "x-unix"; "" when untyped or absent). */
  readonly diagnosticType: string;
}

export interface DeliveryStatusReport {
  readonly message: ReadonlyMap<string, string>;
  readonly recipients: readonly DsnRecipient[];
}

/** Blank-line separated blocks of `[name, value]` fields; folded lines unfolded, other lines skipped. */
function fieldBlocks(text: string): [string, string][][] {
  const blocks: [string, string][][] = [];
  let block: [string, string][] = [];
  let last: [string, string] | undefined;
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (block.length > 0) blocks.push(block);
      block = [];
      last = undefined;
      continue;
    }
    if ((line.startsWith(" ") || line.startsWith("\t")) && last !== undefined) {
      if (last[1].length < MAX_FIELD_CHARS) last[1] = `${last[1]} ${line.trim()}`;
      continue;
    }
    const field = FIELD.exec(line);
    if (field === null) {
      last = undefined;
      continue;
    }
    last = [field[1]!.toLowerCase(), field[2]!.trim()];
    block.push(last);
  }
  if (block.length > 0) blocks.push(block);
  return blocks;
}

/** Longest field value kept; a Diagnostic-Code is a few lines at most. */
const MAX_FIELD_CHARS = 8192;

// A field name at the start of a line, then a colon. Anchored, one bounded class: linear.
const FIELD = /^([A-Za-z][A-Za-z0-9-]{0,60}):[ \t]*(.*)$/;
const RECIPIENT_FIELDS = new Set(["final-recipient", "original-recipient", "x-actual-recipient"]);

export function parseDeliveryStatus(text: string): DeliveryStatusReport {
  const message = new Map<string, string>();
  const groups: Map<string, string>[] = [];
  for (const block of fieldBlocks(text)) {
    if (!block.some(([name]) => RECIPIENT_FIELDS.has(name))) {
      for (const [name, value] of block) if (!message.has(name)) message.set(name, value);
      continue;
    }
    // One group per recipient; a recipient field seen twice in a block starts the next recipient.
    let group = new Map<string, string>();
    groups.push(group);
    for (const [name, value] of block) {
      if (group.has(name) && (RECIPIENT_FIELDS.has(name) || name === "action" || name === "status")) {
        group = new Map();
        groups.push(group);
      }
      group.set(name, value);
    }
  }

  const recipients: DsnRecipient[] = [];
  for (const group of groups) {
    const final = addressOf(group.get("final-recipient") ?? "");
    const original = addressOf(group.get("original-recipient") ?? "");
    // A pipe or file recipient ("|/usr/bin/prog user@example.com") still names the address it serves.
    const address = final.includes("@")
      ? final
      : original.includes("@")
        ? original
        : addressInside(group.get("final-recipient") ?? "") || final || original;
    if (address === "") continue;
    recipients.push({
      address,
      originalRecipient: original,
      action: (group.get("action") ?? "").toLowerCase().split(/[\s(]/, 1)[0] ?? "",
      status: group.get("status") ?? "",
      diagnostic: stripType(group.get("diagnostic-code") ?? ""),
      diagnosticType: typeOf(group.get("diagnostic-code") ?? ""),
    });
  }
  return { message, recipients };
}

/** `rfc822; <User@Example.COM>` → `user@example.com`. */
export function addressOf(value: string): string {
  // Addresses are short; the cap keeps the clean-up below cheap on a hostile value.
  let text = stripType(value.slice(0, 512)).trim();
  if (text.startsWith("<") && text.includes(">")) text = text.slice(1, text.indexOf(">"));
  text = text.replace(/^"+|"+$/g, "").trim();
  // Anything after the address (a comment, a trailing name) is not part of it.
  const space = text.search(/[\s<>]/);
  if (space > 0) text = text.slice(0, space);
  // A source route ("@relay.example:user@host", RFC 5321 appendix C) ends with the address.
  if (text.startsWith("@") && text.includes(":")) text = text.slice(text.lastIndexOf(":") + 1);
  return text.toLowerCase();
}

// Bounded local part and domain, no nested quantifiers: linear.
const ADDRESS_INSIDE = /[A-Za-z0-9._%+=-]{1,64}@[A-Za-z0-9.-]{1,253}/;

function addressInside(value: string): string {
  return ADDRESS_INSIDE.exec(value.slice(0, 1024))?.[0].toLowerCase() ?? "";
}

function stripType(value: string): string {
  const type = typeOf(value);
  return type === "" ? value.trim() : value.slice(value.indexOf(";") + 1).trim();
}

/** The type before the ";" of a typed field value, lower case, or "". */
function typeOf(value: string): string {
  const semi = value.indexOf(";");
  // A type is a short atom such as "rfc822", "smtp", "dns", "X-Unix".
  if (semi <= 0 || semi > 20) return "";
  const type = value.slice(0, semi).trim();
  return /^[A-Za-z0-9-]+$/.test(type) ? type.toLowerCase() : "";
}
