// Every kind in the mailhook.dev API group. Adding a kind here gives it a generated CRD (`npm run gen`).
import type { KindDefinition } from "./common.ts";
import { eventWebhookDefinition } from "./event-webhook.ts";
import { inboundWebhookDefinition } from "./inbound-webhook.ts";

export const kinds: readonly KindDefinition[] = [eventWebhookDefinition, inboundWebhookDefinition];
