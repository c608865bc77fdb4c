// Outbound mails for tests: deterministic content per number, one job per recipient.
import type { OutboundMessageInput } from "../../../relay/queue/outbound-store.ts";

export function outboundMessage(n: number, recipients: readonly string[] = [`rcpt${n}@example.test`], receivedAt = 1_700_000_000_000): OutboundMessageInput {
  const subject = `message #${n}`;
  const raw = Buffer.from(
    `Received: from client.test ([192.0.2.9])\r\n\tby relay.test with ESMTP;\r\n\tTue, 03 Jun 2025 10:00:00 +0000\r\n` +
      `From: sender${n}@example.org\r\nTo: ${recipients.join(", ")}\r\nSubject: ${subject}\r\nMessage-ID: <m${n}@example.org>\r\n` +
      `X-Mailhook-Api-Data: API${n}\r\n\r\nbody of ${n}\r\n`,
  );
  return {
    id: `o${n}`,
    receivedAt,
    envelopeFrom: `envelope${n}@example.org`,
    sourceIp: "10.0.24.10",
    raw,
    headerFrom: `sender${n}@example.org`,
    subject,
    messageIdHeader: `<m${n}@example.org>`,
    apiData: `API${n}`,
    jobs: recipients.map((recipient, i) => ({ id: `job-${n}-${i}`, recipient })),
  };
}
