// Amazon SES event notifications mailed as JSON (directly, or wrapped in an SNS envelope whose
// `Message` holds the JSON as a string): bounces, complaints and deliveries. Pure; JSON.parse is linear
// and the text is already bounded.

export interface SesRecipient {
  readonly address: string;
  readonly action: string;
  readonly status: string;
  readonly diagnostic: string;
}

export interface SesNotification {
  readonly type: "bounce" | "complaint" | "delivery";
  readonly recipients: readonly SesRecipient[];
}

/** The notification in `text`, or undefined when it holds none. */
export function sesNotification(text: string): SesNotification | undefined {
  if (!text.includes("notificationType")) return undefined;
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start === -1 || end <= start) return undefined;
  // SES breaks lines longer than the mail limit with "!" and a folded line: undo that first.
  const json = text.slice(start, end + 1).replaceAll("!\n ", "");
  let value = parseObject(json);
  if (value !== undefined && typeof value.Message === "string") value = parseObject(value.Message);
  if (value === undefined) return undefined;
  switch (value.notificationType) {
    case "Bounce": {
      const bounce = record(value.bounce);
      return { type: "bounce", recipients: list(bounce.bouncedRecipients).map(recipientOf) };
    }
    case "Complaint": {
      const complaint = record(value.complaint);
      return { type: "complaint", recipients: list(complaint.complainedRecipients).map(recipientOf) };
    }
    case "Delivery": {
      const delivery = record(value.delivery);
      const response = stringOf(delivery.smtpResponse);
      const recipients = list(delivery.recipients).map((address) => ({
        address: stringOf(address).toLowerCase(),
        action: "delivered",
        status: "",
        diagnostic: response,
      }));
      return { type: "delivery", recipients };
    }
    default:
      return undefined;
  }
}

type JsonObject = Record<string, unknown>;

function parseObject(json: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

function record(value: unknown): JsonObject {
  return typeof value === "object" && value !== null ? (value as JsonObject) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A JSON string value, or "" for anything else. */
function stringOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function recipientOf(value: unknown): SesRecipient {
  const r = record(value);
  const diagnostic = stringOf(r.diagnosticCode);
  return {
    address: stringOf(r.emailAddress).toLowerCase(),
    action: (stringOf(r.action) || "failed").toLowerCase(),
    status: stringOf(r.status),
    // "smtp; 550 5.1.1 user unknown": the type is not part of the server's answer.
    diagnostic: diagnostic.replace(/^smtp;\s*/i, ""),
  };
}
