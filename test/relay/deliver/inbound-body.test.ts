import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Response } from "undici";
import { renderInboundBody, type InboundContext } from "../../../relay/deliver/inbound-body.ts";
import { binaryBytes, composeMail, parseMail } from "../../helpers/sample-mail.ts";

const context: InboundContext = {
  serverComposition: "default",
  filter: "orders",
  envelopeFrom: "sender@example.net",
  envelopeTo: "orders@example.com",
};

const binary = binaryBytes();
const mailWithAttachments = async () =>
  parseMail(
    await composeMail({
      from: "Sender <sender@example.net>",
      to: "orders@example.com",
      subject: "注文 #42",
      text: "plain body\nsecond line\n",
      html: "<p>html body</p>",
      attachments: [
        { filename: "image.bin", content: binary, contentType: "application/octet-stream" },
        { filename: "請求書 №1.pdf", content: Buffer.from("%PDF-1.4 fake"), contentType: "application/pdf" },
        { filename: 'say "hi"\r\n.txt', content: "quoted name", contentType: "text/plain" },
      ],
    }),
  );

/** Parses a rendered multipart body exactly as a receiver using the Fetch API would. */
const receiverForm = (rendered: { contentType: string; body: Buffer }) =>
  new Response(rendered.body, { headers: { "content-type": rendered.contentType } }).formData();

const SEED_FIELDS = [
  "server_composition",
  "filter",
  "headers",
  "text",
  "html",
  "subject",
  "envelope-from",
  "envelope-to",
  "attachments",
];

describe("multipart body", () => {
  test("carries the seed fields in order, then attachment1..N", async () => {
    const form = await receiverForm(renderInboundBody("multipart", await mailWithAttachments(), context));
    assert.deepEqual([...form.keys()], [...SEED_FIELDS, "attachment1", "attachment2", "attachment3"]);
    assert.equal(form.get("server_composition"), "default");
    assert.equal(form.get("filter"), "orders");
    assert.equal(form.get("text"), "plain body\nsecond line\n");
    assert.equal(form.get("html"), "<p>html body</p>");
    assert.equal(form.get("subject"), "注文 #42");
    assert.equal(form.get("envelope-from"), "sender@example.net");
    assert.equal(form.get("envelope-to"), "orders@example.com");
    assert.equal(form.get("attachments"), "3");
  });

  test("attachments arrive byte-identical with their filename and content type", async () => {
    const form = await receiverForm(renderInboundBody("multipart", await mailWithAttachments(), context));
    const files = ["attachment1", "attachment2", "attachment3"].map((name) => form.get(name));
    const [image, pdf, quoted] = files.map((file) => {
      assert.ok(file instanceof File);
      return file;
    });
    assert.ok(image && pdf && quoted);
    assert.deepEqual(Buffer.from(await image.arrayBuffer()), binary);
    assert.equal(image.name, "image.bin");
    assert.equal(image.type, "application/octet-stream");
    assert.equal(pdf.name, "請求書 №1.pdf");
    assert.equal(pdf.type, "application/pdf");
    assert.equal(await pdf.text(), "%PDF-1.4 fake");
    assert.equal(quoted.name, 'say "hi"\r\n.txt');
    assert.equal(await quoted.text(), "quoted name");
  });

  test("headers is a JSON array of name and value in message order", async () => {
    const form = await receiverForm(renderInboundBody("multipart", await mailWithAttachments(), context));
    const headers = JSON.parse(form.get("headers") as string) as { name: string; value: string }[];
    const names = headers.map((h) => h.name);
    assert.deepEqual(names.slice(0, 3), ["From", "To", "Subject"]);
    assert.deepEqual(headers[0], { name: "From", value: "Sender <sender@example.net>" });
    assert.ok(names.includes("Content-Type"));
  });

  test("api_key comes first, and only when configured", async () => {
    const mail = await mailWithAttachments();
    const withKey = await receiverForm(renderInboundBody("multipart", mail, { ...context, apiKey: "k-123" }));
    assert.equal([...withKey.keys()][0], "api_key");
    assert.equal(withKey.get("api_key"), "k-123");
    const withoutKey = await receiverForm(renderInboundBody("multipart", mail, context));
    assert.equal(withoutKey.has("api_key"), false);
  });

  test("the boundary is random and declared in the content type", async () => {
    const mail = await mailWithAttachments();
    const first = renderInboundBody("multipart", mail, context);
    const second = renderInboundBody("multipart", mail, context);
    assert.match(first.contentType, /^multipart\/form-data; boundary=mailhook-[0-9a-f]{32}$/);
    assert.notEqual(first.contentType, second.contentType);
    const boundary = first.contentType.split("boundary=")[1] ?? "";
    assert.ok(first.body.subarray(-boundary.length - 6).equals(Buffer.from(`--${boundary}--\r\n`)));
  });

  test("a mail without text, html, subject or attachments sends empty fields and a zero count", async () => {
    const mail = await parseMail("From: a@example.net\r\nTo: b@example.com\r\nContent-Type: text/html\r\n\r\n");
    const form = await receiverForm(renderInboundBody("multipart", mail, context));
    assert.deepEqual([...form.keys()], SEED_FIELDS);
    assert.equal(form.get("text"), "");
    assert.equal(form.get("html"), "");
    assert.equal(form.get("subject"), "");
    assert.equal(form.get("attachments"), "0");
  });

  test("an attachment without a name is named after its field; a hostile content type is neutralised", async () => {
    const raw = [
      "From: a@example.net",
      "To: b@example.com",
      'Content-Type: multipart/mixed; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain",
      "",
      "body",
      "--b",
      'Content-Type: application/x-evil"\\r\\nX-Injected: 1; name=x',
      "Content-Disposition: attachment",
      "Content-Transfer-Encoding: base64",
      "",
      "AAEC/w==",
      "--b--",
      "",
    ].join("\r\n");
    const form = await receiverForm(renderInboundBody("multipart", await parseMail(raw), context));
    const file = form.get("attachment1");
    assert.ok(file instanceof File);
    assert.equal(file.name, "attachment1");
    assert.equal(file.type, "application/octet-stream");
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), Buffer.from([0, 1, 2, 255]));
  });
});

describe("json body", () => {
  test("is one object with the seed fields in order, headers nested and the attachment count", async () => {
    const rendered = renderInboundBody("json", await mailWithAttachments(), { ...context, apiKey: "k-1" });
    assert.equal(rendered.contentType, "application/json");
    const body = JSON.parse(rendered.body.toString("utf8")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ["api_key", ...SEED_FIELDS, "attachment-info"]);
    assert.equal(body.api_key, "k-1");
    assert.equal(body.subject, "注文 #42");
    assert.equal(body.attachments, 3);
    assert.ok(Array.isArray(body.headers));
    assert.deepEqual((body.headers as unknown[])[0], { name: "From", value: "Sender <sender@example.net>" });
  });

  test("describes attachments without carrying their bodies", async () => {
    const rendered = renderInboundBody("json", await mailWithAttachments(), context);
    const body = JSON.parse(rendered.body.toString("utf8")) as Record<string, unknown>;
    assert.deepEqual(body["attachment-info"], [
      { filename: "image.bin", contentType: "application/octet-stream", size: binary.length },
      { filename: "請求書 №1.pdf", contentType: "application/pdf", size: 13 },
      { filename: 'say "hi"\r\n.txt', contentType: "text/plain", size: 11 },
    ]);
    assert.ok(rendered.body.length < binary.length);
  });
});

describe("headers", () => {
  test("keeps names as written and unfolds values without decoding them", async () => {
    const raw =
      "From: a@example.net\r\nX-Custom-HEADER:  spaced  \r\nSubject: =?UTF-8?B?5pel5pys?=\r\n  continued\r\n\tand tabbed\r\nReceived: one\r\nReceived: two\r\n\r\nbody";
    assert.deepEqual((await parseMail(raw)).headers, [
      { name: "From", value: "a@example.net" },
      { name: "X-Custom-HEADER", value: "spaced" },
      { name: "Subject", value: "=?UTF-8?B?5pel5pys?=  continued\tand tabbed" },
      { name: "Received", value: "one" },
      { name: "Received", value: "two" },
    ]);
  });
});
