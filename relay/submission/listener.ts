// The submission listener (the relay-source side): mail to deliver to any domain, accepted only from
// clients in submission.allowedNetworks or authenticated as a user of submission.authUsersFile.
// Everyone else is refused at MAIL FROM, before a recipient is named: never an open relay.
import { domainToASCII } from "node:url";
import type { RelaySettings } from "../config/schema.ts";
import { compileNetworkMatcher } from "../deliver/address-guard.ts";
import type { Logger } from "../log.ts";
import type { RecipientCheck } from "../smtp-in/recipient.ts";
import { replies } from "../smtp-in/replies.ts";
import { startSmtpListener, type ListenerPolicy, type SmtpListener } from "../smtp-in/smtp-listener.ts";
import { loadAuthUsers } from "./auth-users.ts";

export type SubmissionSettings = NonNullable<RelaySettings["submission"]>;
export type SubmissionHandler = Pick<ListenerPolicy, "receive" | "refused">;

export async function startSubmissionListener(settings: SubmissionSettings, handler: SubmissionHandler, logger: Logger): Promise<SmtpListener> {
  const fromAllowedNetwork = compileNetworkMatcher(settings.allowedNetworks);
  const users = settings.authUsersFile === null ? undefined : await loadAuthUsers(settings.authUsersFile);
  return startSmtpListener(
    settings,
    {
      component: "submission",
      ...(users && { auth: { verify: (user, password) => users.verify(user, password), allowInsecure: settings.allowInsecureAuth } }),
      checkSender(session) {
        if (session.user !== undefined || fromAllowedNetwork(session.remoteAddress)) return undefined;
        return users ? replies.authRequired() : replies.senderNotAllowed();
      },
      checkRecipient: relayRecipient,
      receive: (mail) => handler.receive(mail),
      refused: (event) => handler.refused?.(event),
    },
    logger,
  );
}

/**
 * Any domain may be a destination here, but only as a plain mailbox: the domain is normalised to
 * lower-case ASCII, and routing tricks in the local part (`%`, `!`) are refused.
 */
export function relayRecipient(address: string): RecipientCheck {
  const at = address.lastIndexOf("@");
  if (at <= 0) return { ok: false, refusal: replies.noDomain() };
  const local = address.slice(0, at);
  if (/[%!]/.test(local)) return { ok: false, refusal: replies.routedAddress() };
  const domain = address.slice(at + 1);
  const ascii = domain.startsWith("[") ? domain : domainToASCII(domain).toLowerCase();
  if (ascii === "") return { ok: false, refusal: replies.noDomain() };
  return { ok: true, address: `${local}@${ascii}` };
}
