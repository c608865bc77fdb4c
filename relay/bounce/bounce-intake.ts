// Bounce mail sent back to a VERP return path (`bounce+<job>@bounceDomain`), taken on the inbound
// listener: the mail is analysed and a `bounced` event recorded for the job it names, durably,
// before the `250`. Complaint reports, auto-replies and delivery notices are accepted and produce
// no event (they are not bounces); addresses that name no job are refused at RCPT.
import type { Logger } from "../log.ts";
import type { VerpOptions } from "../outbound/verp.ts";
import { jobIdFromReturnPath } from "../outbound/verp.ts";
import type { OutboundSpool } from "../queue/outbound-store.ts";
import { analyseBounce } from "./analyse.ts";

export interface BounceIntake {
  /** Whether an address is a VERP return path naming a job we know (the listener accepts it). */
  isBounceAddress(address: string): boolean;
  /** Records the bounce for every job the recipients name; resolves once committed. */
  receive(raw: Buffer, recipients: readonly string[]): Promise<void>;
}

export function bounceIntake(verp: VerpOptions, outbound: OutboundSpool, logger: Logger): BounceIntake {
  const log = logger.child({ component: "bounces" });
  return {
    isBounceAddress: (address) => {
      const jobId = jobIdFromReturnPath(verp, address);
      return jobId !== undefined && outbound.knowsJob(jobId);
    },
    async receive(raw, recipients) {
      const analysis = await analyseBounce(raw);
      // The job names one recipient; the report's first failed one is about it.
      const failure = analysis.recipients.find((r) => r.errorStatus !== null);
      if (!analysis.bounce || failure === undefined || failure.errorStatus === null) {
        log.info("mail to a return path is not a bounce; no event", { recipients: recipients.length });
        return;
      }
      for (const address of recipients) {
        const jobId = jobIdFromReturnPath(verp, address);
        if (jobId === undefined) continue;
        const known = await outbound.bounceReported(jobId, {
          errorStatus: failure.errorStatus,
          enhancedStatus: failure.enhancedStatus,
          diagnostic: failure.diagnostic,
        });
        if (!known) log.warn("bounce names a job that is no longer known", { job: jobId });
      }
    },
  };
}
