import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import nodemailer from "nodemailer";
import { relaySettings } from "../../../relay/config/schema.ts";
import { silentLogger } from "../../../relay/log.ts";
import type { RecipientVerdict } from "../../../relay/match/conditions.ts";
import {
  startInboundListener,
  type InboundHandler,
  type InboundListener,
  type InboundSettings,
  type ReceivedMail,
  type ReceiveResult,
  type RefusalEvent,
} from "../../../relay/smtp-in/listener.ts";
import { SmtpWire } from "./smtp-wire.ts";

const fixtures = new URL("../../fixtures/tls/", import.meta.url);

function inboundSettings(extra: Record<string, unknown> = {}): InboundSettings {
  return relaySettings.parse({
    inbound: {
      listen: "127.0.0.1:0",
      hostname: "mx.test",
      domains: ["example.com", "xn--bcher-kva.example"],
      maxMessageBytes: 100_000,
      maxRecipients: 3,
      maxLineBytes: 1000,
      maxHeaderBytes: 4096,
      ...extra,
    },
  }).inbound;
}

/** A handler whose behaviour tests steer through the address and the subject. */
class TestHandler implements InboundHandler {
  received: ReceivedMail[] = [];
  refusals: RefusalEvent[] = [];
  committed = 0;

  checkRecipient(address: string): RecipientVerdict {
    if (address.startsWith("nobody@")) return "none";
    if (address.startsWith("paused@")) return "suspended-only";
    return "active";
  }

  async receive(mail: ReceivedMail): Promise<ReceiveResult> {
    const raw = mail.raw.toString("latin1");
    if (raw.includes("Subject: FAIL")) throw new Error("spool unavailable");
    if (raw.includes("Subject: REFUSE")) return { accepted: false, code: 550, enhanced: "5.1.1", message: "no webhook matched", reason: "no_webhook" };
    // Resolve a little later, like a real commit: the 250 must wait for it.
    await sleep(20);
    this.received.push(mail);
    this.committed++;
    return { accepted: true, queueId: `q${this.received.length}` };
  }

  refused(event: RefusalEvent): void {
    this.refusals.push(event);
  }
}

function transport(port: number, options: Record<string, unknown> = {}) {
  return nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, name: "client.test", ...options });
}

async function rejection(promise: Promise<unknown>): Promise<{ responseCode?: number; response?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { responseCode?: number; response?: string };
  }
  throw new Error("expected the send to be refused");
}

describe("the inbound listener", () => {
  const handler = new TestHandler();
  let listener: InboundListener;
  let port: number;

  before(async () => {
    listener = await startInboundListener(inboundSettings(), handler, silentLogger);
    port = listener.address.port;
  });
  after(() => listener.close(100));

  test("a mail for an accepted domain is answered 250 only after the handler committed it", async () => {
    const before = handler.received.length;
    const info = await transport(port).sendMail({
      envelope: { from: "sender@origin.example", to: ["a@example.com", "B@EXAMPLE.COM"] },
      from: "sender@origin.example",
      to: "list@example.com",
      subject: "hello",
      text: "body",
    });
    assert.match(info.response, /^250 2\.0\.0 queued as q\d+$/);
    assert.equal(handler.committed, before + 1);
    const mail = handler.received.at(-1)!;
    assert.equal(mail.envelopeFrom, "sender@origin.example");
    assert.deepEqual(mail.recipients, ["a@example.com", "B@example.com"]);
    assert.equal(mail.remoteAddress, "127.0.0.1");
    assert.equal(mail.tls, false);
    const raw = mail.raw.toString();
    assert.match(raw, /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test with ESMTP;\r\n\t.+ \+0000\r\n/);
    assert.match(raw, /\r\nSubject: hello\r\n/);
    assert.match(raw, /\r\n\r\nbody/);
  });

  test("EHLO offers SIZE and PIPELINING but neither AUTH nor, without a certificate, STARTTLS", async () => {
    const { wire, greeting } = await SmtpWire.open(port);
    assert.match(greeting, /^220 mx\.test ESMTP mailhook ready$/);
    const ehlo = await wire.command("EHLO client.test");
    assert.match(ehlo, /^250[- ]SIZE$/m);
    assert.match(ehlo, /PIPELINING/);
    assert.doesNotMatch(ehlo, /AUTH|STARTTLS/);
    wire.close();
  });

  test("recipients outside the accepted domains are refused at RCPT: never an open relay", async () => {
    const { wire } = await SmtpWire.open(port);
    const replies = await wire.envelope("s@origin.example", [
      "x@other.example",
      "x@sub.example.com",
      "x@example.com.evil.example",
      "x@[127.0.0.1]",
      "a%other.example@example.com",
      "other.example!a@example.com",
      "<@example.com:x@other.example>",
      "postmaster",
    ]);
    assert.deepEqual(
      replies.map((r) => r.slice(0, 9)),
      ["550 5.7.1", "550 5.7.1", "550 5.7.1", "550 5.7.1", "550 5.7.1", "550 5.7.1", "550 5.7.1", "550 5.1.1"],
    );
    assert.match(replies[0]!, /relaying denied: this server does not accept mail for other\.example/);
    assert.equal(await wire.command("DATA"), "503 Error: need RCPT command");
    wire.close();
  });

  test("recipient addresses with broken syntax are refused", async () => {
    const { wire } = await SmtpWire.open(port);
    const replies = await wire.envelope("s@origin.example", ["a..b@example.com", "a@b@example.com", ".a@example.com", "a@example..com"]);
    for (const reply of replies) assert.match(reply, /^501 /);
    wire.close();
  });

  test("accepted domains match exactly and case-insensitively, IDN domains in their ASCII form", async () => {
    const before = handler.received.length;
    const { wire } = await SmtpWire.open(port);
    // A source route is dropped (RFC 5321 appendix C): only the final mailbox counts.
    const replies = await wire.envelope("", ["x@Example.COM", "<@relay.example:y@xn--bcher-kva.example>", "z@BÜCHER.example"]);
    assert.deepEqual(replies, ["250 Accepted", "250 Accepted", "250 Accepted"]);
    assert.match(await wire.command("DATA"), /^354/);
    assert.match(await wire.command("Subject: idn\r\n\r\nhi\r\n."), /^250 2\.0\.0 queued as/);
    assert.deepEqual(handler.received[before]!.recipients, ["x@example.com", "y@xn--bcher-kva.example", "z@xn--bcher-kva.example"]);
    assert.equal(handler.received[before]!.envelopeFrom, "", "the null sender");
    wire.close();
  });

  test("the handler's recipient verdict decides: none is 550 5.1.1, suspended-only is 450 4.2.1", async () => {
    const refusalsBefore = handler.refusals.length;
    const { wire } = await SmtpWire.open(port);
    const replies = await wire.envelope("s@origin.example", ["nobody@example.com", "paused@example.com", "ok@example.com"]);
    assert.match(replies[0]!, /^550 5\.1\.1 /);
    assert.match(replies[1]!, /^450 4\.2\.1 /);
    assert.equal(replies[2], "250 Accepted");
    assert.deepEqual(
      handler.refusals.slice(refusalsBefore).map((r) => [r.stage, r.reason]),
      [
        ["rcpt", "no_webhook"],
        ["rcpt", "suspended"],
      ],
    );
    wire.close();
  });

  test("a fourth recipient is refused with 452 4.5.3, a repeated one does not count", async () => {
    const { wire } = await SmtpWire.open(port);
    const replies = await wire.envelope("s@origin.example", ["a@example.com", "b@example.com", "A@example.com", "c@example.com", "d@example.com"]);
    assert.deepEqual(replies.slice(0, 4), ["250 Accepted", "250 Accepted", "250 Accepted", "250 Accepted"]);
    assert.match(replies[4]!, /^452 4\.5\.3 too many recipients: at most 3/);
    wire.close();
  });

  test("MAIL FROM declaring a SIZE over the limit is refused with 552 5.3.4", async () => {
    const { wire } = await SmtpWire.open(port);
    await wire.command("EHLO client.test");
    assert.match(await wire.command("MAIL FROM:<s@origin.example> SIZE=100001"), /^552 5\.3\.4 message exceeds the size limit of 100000 bytes/);
    assert.equal(await wire.command("MAIL FROM:<s@origin.example> SIZE=100000"), "250 Accepted");
    wire.close();
  });

  test("a message that overflows the limit without declaring it is refused with 552 and not handed over", async () => {
    const before = handler.received.length;
    const err = await rejection(
      transport(port).sendMail({ from: "s@origin.example", to: "a@example.com", subject: "big", text: "x".repeat(70).concat("\n").repeat(2000) }),
    );
    assert.equal(err.responseCode, 552);
    assert.match(err.response!, /5\.3\.4 message exceeds the size limit/);
    assert.equal(handler.received.length, before);
    assert.equal(handler.refusals.at(-1)?.reason, "too_large");
  });

  test("a header section over the limit is refused with 552 and not handed over", async () => {
    const before = handler.received.length;
    const headers: Record<string, string> = {};
    for (let i = 0; i < 100; i++) headers[`X-Filler-${i}`] = "f".repeat(60);
    const err = await rejection(transport(port).sendMail({ from: "s@origin.example", to: "a@example.com", subject: "hdr", text: "x", headers }));
    assert.equal(err.responseCode, 552);
    assert.match(err.response!, /header section exceeds the limit of 4096 bytes/);
    assert.equal(handler.received.length, before);
  });

  test("a line longer than the limit is refused with 554 5.6.0", async () => {
    const before = handler.received.length;
    const { wire } = await SmtpWire.open(port);
    await wire.envelope("s@origin.example", ["a@example.com"]);
    await wire.command("DATA");
    assert.match(await wire.command(`Subject: long\r\n\r\n${"y".repeat(1001)}\r\n.`), /^554 5\.6\.0 message has a line longer than 1000 bytes/);
    // The session goes on.
    await wire.command("MAIL FROM:<s@origin.example>");
    await wire.command("RCPT TO:<a@example.com>");
    await wire.command("DATA");
    assert.match(await wire.command(`Subject: fits\r\n\r\n${"y".repeat(1000)}\r\n.`), /^250 /);
    assert.equal(handler.received.length, before + 1);
    wire.close();
  });

  test("SMTP smuggling: bare LF or CR around a dot never ends DATA, and such a message is refused", async () => {
    const before = handler.received.length;
    const { wire } = await SmtpWire.open(port);
    await wire.command("EHLO client.test");
    for (const fakeEnd of ["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r"]) {
      assert.equal(await wire.command("MAIL FROM:<s@origin.example>"), "250 Accepted");
      assert.equal(await wire.command("RCPT TO:<a@example.com>"), "250 Accepted");
      assert.match(await wire.command("DATA"), /^354/);
      // Everything up to the real <CRLF>.<CRLF> is one message; the commands inside must not run.
      wire.write(
        `Subject: one\r\n\r\nbody${fakeEnd}MAIL FROM:<evil@origin.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n` +
          `Subject: smuggled\r\n\r\nevil\r\n.\r\n`,
      );
      assert.match(await wire.reply(), /^554 5\.5\.2 message has a bare CR or LF/, JSON.stringify(fakeEnd));
      // The next reply answers our NOOP ("250 OK"), not a smuggled MAIL or RCPT ("250 Accepted").
      assert.equal(await wire.command("NOOP"), "250 OK");
    }
    assert.equal(handler.received.length, before);
    wire.close();
  });

  test("a dot-stuffed line is content, received once and whole", async () => {
    const before = handler.received.length;
    const { wire } = await SmtpWire.open(port);
    await wire.envelope("s@origin.example", ["a@example.com"]);
    await wire.command("DATA");
    assert.match(await wire.command("Subject: dots\r\n\r\nline\r\n..\r\n..leading\r\nend\r\n."), /^250 /);
    assert.equal(handler.received.length, before + 1);
    assert.match(handler.received.at(-1)!.raw.toString(), /\r\n\r\nline\r\n\.\r\n\.leading\r\nend\r\n$/);
    wire.close();
  });

  test("a handler failure is answered 451 4.3.0 so the sender retries", async () => {
    const err = await rejection(transport(port).sendMail({ from: "s@origin.example", to: "a@example.com", subject: "FAIL", text: "x" }));
    assert.equal(err.responseCode, 451);
    assert.match(err.response!, /^451 4\.3\.0 /);
    assert.equal(handler.refusals.at(-1)?.reason, "spool_error");
  });

  test("a refusal from the handler becomes the reply", async () => {
    const err = await rejection(transport(port).sendMail({ from: "s@origin.example", to: "a@example.com", subject: "REFUSE", text: "x" }));
    assert.equal(err.response, "550 5.1.1 no webhook matched");
    assert.deepEqual([handler.refusals.at(-1)?.stage, handler.refusals.at(-1)?.reason], ["data", "no_webhook"]);
  });
});

describe("the inbound listener with a certificate", () => {
  const handler = new TestHandler();
  let listener: InboundListener;

  before(async () => {
    const tls = { certFile: new URL("localhost.crt", fixtures).pathname, keyFile: new URL("localhost.key", fixtures).pathname };
    listener = await startInboundListener(inboundSettings({ tls }), handler, silentLogger);
  });
  after(() => listener.close(100));

  test("offers STARTTLS, and a client that requires TLS delivers over it", async () => {
    const info = await transport(listener.address.port, {
      requireTLS: true,
      tls: { ca: readFileSync(new URL("ca.crt", fixtures)), servername: "localhost" },
    }).sendMail({ from: "s@origin.example", to: "a@example.com", subject: "secret", text: "x" });
    assert.match(info.response, /^250 2\.0\.0 queued as q1$/);
    assert.equal(handler.received[0]?.tls, true);
    assert.match(handler.received[0].raw.toString(), /with ESMTPS;/);
  });
});

test("a certificate that cannot be read stops the start with a clear error", async () => {
  const tls = { certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" };
  await assert.rejects(startInboundListener(inboundSettings({ tls }), new TestHandler(), silentLogger), {
    code: "TLS_FILES_UNREADABLE",
    message: /TLS certificate unreadable: .*nonexistent/,
  });
});

test("a graceful close lets a transaction in progress finish and sends idle sessions away", async () => {
  const handler = new TestHandler();
  const listener = await startInboundListener(inboundSettings(), handler, silentLogger);
  const port = listener.address.port;
  const busy = (await SmtpWire.open(port)).wire;
  const idle = (await SmtpWire.open(port)).wire;
  await idle.command("EHLO client.test");
  await busy.envelope("s@origin.example", ["a@example.com"]);
  await busy.command("DATA");
  busy.write("Subject: in flight\r\n\r\nfirst half\r\n");

  const closed = listener.close(10_000);
  assert.match(await idle.reply(), /^421 4\.3\.2 service shutting down/);
  await assert.rejects(
    new Promise((resolve, reject) => connect(port, "127.0.0.1").once("connect", resolve).once("error", reject)),
    { code: "ECONNREFUSED" },
  );

  assert.match(await busy.command("second half\r\n."), /^250 2\.0\.0 queued as q1$/);
  assert.match(await busy.reply(), /^421 4\.3\.2 /);
  await closed;
  assert.equal(handler.received.length, 1);
  assert.match(handler.received[0]!.raw.toString(), /first half\r\nsecond half\r\n$/);
});

test("messages being received share a memory budget: past it a message gets 452 and the budget is freed again", async (t) => {
  // receive() for the first mail waits at a gate, so its bytes stay counted while the second arrives.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const handler = new TestHandler();
  let arrived = false;
  const held: InboundHandler = {
    checkRecipient: (address) => handler.checkRecipient(address),
    receive: async (mail) => {
      if (mail.raw.includes("Subject: first")) {
        arrived = true;
        await gate;
      }
      return handler.receive(mail);
    },
    refused: (event) => handler.refused(event),
  };
  const mib = 1024 * 1024;
  const listener = await startInboundListener(inboundSettings({ maxMessageBytes: mib, maxLineBytes: 100_000, maxBufferedBytes: mib }), held, silentLogger);
  t.after(() => listener.close(100));
  const text = `${"x".repeat(999)}\n`.repeat(700); // ~700 KB: one fits the budget, two do not
  const first = transport(listener.address.port).sendMail({ from: "a@sender.test", to: "someone@example.com", subject: "first", text });
  while (!arrived) await sleep(10);
  const err = await rejection(transport(listener.address.port).sendMail({ from: "a@sender.test", to: "someone@example.com", subject: "second", text }));
  assert.equal(err.responseCode, 452);
  assert.match(String(err.response), /4\.3\.1/);
  open();
  await first;
  await transport(listener.address.port).sendMail({ from: "a@sender.test", to: "someone@example.com", subject: "third", text });
  assert.equal(handler.received.length, 2);
  assert.deepEqual(handler.refusals.map((r) => r.reason), ["busy"]);
});
