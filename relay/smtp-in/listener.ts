// The inbound listener (the MX side): mail for the accepted domains only — never an open relay —
// and only for recipients some webhook may take; no AUTH. The handler (relay.ts) matches and spools.
import type { RelaySettings } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { RecipientVerdict } from "../match/conditions.ts";
import { checkRecipientAddress } from "./recipient.ts";
import { replies } from "./replies.ts";
import { startSmtpListener, type ListenerPolicy, type SmtpListener } from "./smtp-listener.ts";

export { DEFAULT_CLOSE_GRACE_MS, type ReceivedMail, type ReceiveResult, type RefusalEvent } from "./smtp-listener.ts";

export type InboundSettings = RelaySettings["inbound"];
export type InboundListener = SmtpListener;

export interface InboundHandler extends Pick<ListenerPolicy, "receive" | "refused"> {
  /**
   * RCPT TO for an accepted domain: may some webhook take mail for this (normalised) address?
   * "not-ready" while no webhook configuration is loaded yet: a temporary refusal, never a 550.
   */
  checkRecipient(address: string): RecipientVerdict | "not-ready";
}

export function startInboundListener(settings: InboundSettings, handler: InboundHandler, logger: Logger): Promise<InboundListener> {
  const domains = new Set(settings.domains);
  return startSmtpListener(
    settings,
    {
      component: "smtp-in",
      checkRecipient(address) {
        const checked = checkRecipientAddress(address, domains);
        if (!checked.ok) return checked;
        const verdict = handler.checkRecipient(checked.address);
        if (verdict === "none") return { ok: false, refusal: replies.noWebhook() };
        if (verdict === "suspended-only") return { ok: false, refusal: replies.suspended() };
        if (verdict === "not-ready") return { ok: false, refusal: replies.notReady() };
        return checked;
      },
      receive: (mail) => handler.receive(mail),
      refused: (event) => handler.refused?.(event),
    },
    logger,
  );
}
