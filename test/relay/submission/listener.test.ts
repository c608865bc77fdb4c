// The submission listener against real SMTP clients on loopback: who may relay, and who may not.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import nodemailer from "nodemailer";
import { submissionSettings } from "../../../relay/config/schema.ts";
import { silentLogger } from "../../../relay/log.ts";
import type { ReceivedMail, RefusalEvent } from "../../../relay/smtp-in/smtp-listener.ts";
import { relayRecipient, startSubmissionListener } from "../../../relay/submission/listener.ts";

const dir = await mkdtemp(join(tmpdir(), "mailhook-submission-"));
after(() => rm(dir, { recursive: true, force: true }));

async function listen(settings: Record<string, unknown>) {
  const received: ReceivedMail[] = [];
  const refused: RefusalEvent[] = [];
  const listener = await startSubmissionListener(
    submissionSettings.parse({ listen: "127.0.0.1:0", hostname: "relay.test", ...settings }),
    {
      receive: (mail) => {
        received.push(mail);
        return Promise.resolve({ accepted: true, queueId: `q${received.length}` });
      },
      refused: (event) => refused.push(event),
    },
    silentLogger,
  );
  after(() => listener.close(100));
  return { port: listener.address.port, received, refused };
}

function send(port: number, options: { auth?: { user: string; pass: string }; to?: string[] } = {}) {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true, ...(options.auth && { auth: options.auth }) });
  return transport
    .sendMail({ from: "app@sender.test", to: options.to ?? ["someone@anywhere.example", "Other@Bücher.example"], subject: "hi", text: "hi" })
    .finally(() => transport.close());
}

test("a client from an allowed network relays to any domain; recipients are normalised", async () => {
  const l = await listen({ allowedNetworks: ["127.0.0.0/8"] });
  const info = (await send(l.port)) as { response: string };
  assert.match(info.response, /^250 2\.0\.0 queued as q1/);
  assert.deepEqual(l.received[0]?.recipients, ["someone@anywhere.example", "Other@xn--bcher-kva.example"]);
  assert.equal(l.received[0]?.remoteAddress, "127.0.0.1");
});

test("a client from any other network is refused at MAIL FROM, before naming a recipient", async () => {
  const l = await listen({ allowedNetworks: ["10.0.0.0/8"] });
  await assert.rejects(send(l.port), (err: { responseCode?: number; response?: string }) => {
    assert.equal(err.responseCode, 550);
    assert.match(String(err.response), /5\.7\.1 relaying denied/);
    return true;
  });
  assert.equal(l.received.length, 0);
  assert.deepEqual(l.refused.map((r) => [r.stage, r.reason]), [["mail", "sender_not_allowed"]]);
});

test("with AUTH users, an outside client must authenticate; wrong credentials are refused", async () => {
  const users = join(dir, "users");
  await writeFile(users, "app:correct horse\n");
  const l = await listen({ allowedNetworks: [], authUsersFile: users, allowInsecureAuth: true });
  await assert.rejects(send(l.port), (err: { responseCode?: number }) => err.responseCode === 530);
  await assert.rejects(send(l.port, { auth: { user: "app", pass: "wrong" } }), (err: { responseCode?: number }) => err.responseCode === 535);
  await send(l.port, { auth: { user: "app", pass: "correct horse" } });
  assert.equal(l.received.length, 1);
  assert.equal(l.received[0]?.user, "app");
});

test("AUTH users without TLS are a configuration error unless AUTH in clear is allowed explicitly", () => {
  const r = submissionSettings.safeParse({ authUsersFile: "/etc/mailhook/users" });
  assert.equal(r.success, false);
  assert.deepEqual(r.error?.issues.map((i) => [i.path.join("."), i.message]), [
    ["authUsersFile", "AUTH needs submission.tls (STARTTLS), or allowInsecureAuth: true inside a trusted network"],
  ]);
  assert.equal(submissionSettings.safeParse({ authUsersFile: "/etc/mailhook/users", allowInsecureAuth: true }).success, true);
});

test("routing tricks and domainless recipients are refused", () => {
  assert.equal(relayRecipient("a%b@example.com").ok, false);
  assert.equal(relayRecipient("a!b@example.com").ok, false);
  assert.equal(relayRecipient("postmaster").ok, false);
  assert.deepEqual(relayRecipient("A@Example.COM"), { ok: true, address: "A@example.com" });
});

test("over STARTTLS the same user authenticates and relays", async () => {
  const { localhostCertFile, localhostKeyFile, testCaFile } = await import("../../helpers/tls-fixtures.ts");
  const { readFile } = await import("node:fs/promises");
  const users = join(dir, "users3");
  await writeFile(users, "app:pw\n");
  const l = await listen({ authUsersFile: users, tls: { certFile: localhostCertFile, keyFile: localhostKeyFile } });
  const transport = nodemailer.createTransport({
    host: "localhost",
    port: l.port,
    secure: false,
    requireTLS: true,
    tls: { ca: await readFile(testCaFile) },
    auth: { user: "app", pass: "pw" },
  });
  await transport.sendMail({ from: "app@sender.test", to: "x@dest.example", subject: "tls", text: "tls" }).finally(() => transport.close());
  assert.equal(l.received[0]?.tls, true);
  assert.equal(l.received[0]?.user, "app");
});
