// Submitted mail into the outbound spool: one delivery job per recipient and a `queued` event for
// each, committed together before the `250`. The facts events carry (header From, Subject,
// Message-ID, the sender's apiData header) are read once here, from the header section.
import type { Logger } from "../log.ts";
import { parseHeaderBlock, type HeaderField } from "../match/header-block.ts";
import { newMessageId } from "../queue/ids.ts";
import type { OutboundSpool } from "../queue/outbound-store.ts";
import { newOutboundJobId } from "../outbound/verp.ts";
import type { ReceivedMail, ReceiveResult } from "../smtp-in/smtp-listener.ts";
import { MAX_RECEIVED_HEADER_BYTES } from "../smtp-in/trace-header.ts";
import { removeHeaderFields } from "./strip-header.ts";

export interface SubmissionIntakeOptions {
  readonly outbound: OutboundSpool;
  /** Header whose value becomes the events' apiData; removed before delivery (it is ours, not the recipient's). */
  readonly apiDataHeader: string;
  readonly maxHeaderBytes: number;
  readonly logger: Logger;
  /** Called after each accepted mail (wakes the outbound worker). */
  readonly accepted: () => void;
  readonly now?: () => number;
}

export function submissionIntake(options: SubmissionIntakeOptions): (mail: ReceivedMail) => Promise<ReceiveResult> {
  const now = options.now ?? Date.now;
  return async (mail) => {
    const headers = parseHeaderBlock(mail.raw, options.maxHeaderBytes + MAX_RECEIVED_HEADER_BYTES);
    const id = newMessageId();
    await options.outbound.accept({
      id,
      receivedAt: now(),
      envelopeFrom: mail.envelopeFrom,
      sourceIp: mail.remoteAddress,
      raw: removeHeaderFields(mail.raw, options.apiDataHeader),
      headerFrom: first(headers, "from"),
      subject: first(headers, "subject"),
      messageIdHeader: first(headers, "message-id"),
      apiData: first(headers, options.apiDataHeader.toLowerCase()),
      jobs: mail.recipients.map((recipient) => ({ id: newOutboundJobId(), recipient })),
    });
    options.logger.debug("submitted mail accepted", { id, recipients: mail.recipients.length, user: mail.user });
    // The mail is committed: nothing after this may turn the 250 into a 451 (the sender would send
    // it again), so waking the worker happens outside this call.
    queueMicrotask(options.accepted);
    return { accepted: true, queueId: id };
  };
}

function first(headers: readonly HeaderField[], lowerName: string): string {
  return headers.find((h) => h.name.toLowerCase() === lowerName)?.value ?? "";
}
