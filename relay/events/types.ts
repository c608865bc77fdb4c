// The delivery events the relay records (one per state change, written in the same transaction as the
// change) and the two groups EventWebhooks subscribe to. docs/events.md describes them for receivers.

/** `deliveries` group: what happened to one recipient's delivery. */
export const deliveriesStatuses = ["queued", "succeeded", "failed", "deferred"] as const;
export type DeliveriesStatus = (typeof deliveriesStatuses)[number];
export type DeliveryStatus = DeliveriesStatus | "bounced";

/** The seed's `event_type`: one per request. */
export type EventType = "deliveries" | "bounces";

/**
 * The seed's error statuses (SPEC 2.1): 1 unknown host, 2 unknown user, 3 retry timeout, 4 rejected by
 * policy, 5 over capacity, 6 forwarding error, 7 receiving-server error, 8 too large, 9 address format
 * error, 10 blocked (suppressed) address, 11 unsubscribed, 99 other.
 */
export const errorStatuses = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 99] as const;
export type ErrorStatus = (typeof errorStatuses)[number];

/**
 * What every event says about the mail and the recipient. Texts are stored as the relay saw them (the
 * subject decoded to Unicode) and are "" when there is nothing to say, as in the seed's payloads.
 */
interface EventFacts {
  /** When the change happened, in milliseconds since the epoch (UTC); rendered in the webhook's zone. */
  createdAt: number;
  /** Envelope sender (MAIL FROM), "" for the null sender. */
  returnPath: string;
  /** The address in the header From. */
  from: string;
  /** The envelope recipient this event is about. */
  to: string;
  /** The Message-ID header, angle brackets included. */
  messageId: string;
  subject: string;
  /** The sender's correlation value from the configured mail header; "" if none. */
  apiData: string;
  /** The destination server's response (or the relay's own explanation) on a failure, else "". */
  reason: string;
  /** The relay's address toward the destination server: set on `succeeded`, else "". */
  senderIp: string;
  /** The relay-source server's address: set on `queued`, else "". */
  sourceIp: string;
}

export interface DeliveriesEvent extends EventFacts {
  status: DeliveriesStatus;
}

export interface BounceEvent extends EventFacts {
  status: "bounced";
  errorStatus: ErrorStatus;
  /** RFC 3463 enhanced status code (`5.1.1`) when the server or the report gave one, else "". */
  enhancedStatus: string;
}

export type DeliveryEvent = DeliveriesEvent | BounceEvent;

/** Events for one request: one `event_type`, in the order they happened. */
export type EventBatch =
  | { eventType: "deliveries"; events: readonly DeliveriesEvent[] }
  | { eventType: "bounces"; events: readonly BounceEvent[] };

export function eventTypeOf(status: DeliveryStatus): EventType {
  return status === "bounced" ? "bounces" : "deliveries";
}

/** An EventWebhook's `spec.events`: which groups it receives. */
export interface EventSubscription {
  bounces: boolean;
  deliveries: boolean;
}

export function subscribes(events: EventSubscription, type: EventType): boolean {
  return type === "bounces" ? events.bounces : events.deliveries;
}
