// The fast reader must read every mail it takes exactly as mailparser does, and take the common ones.
// Both run over the 586 real bounce mails of the shared corpus (as received over SMTP, CRLF), over
// mails composed by nodemailer in many shapes, and over hand-written edge cases.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { readWithMailparser } from "../../../relay/deliver/mail-content.ts";
import { readSimpleMime } from "../../../relay/deliver/simple-mime.ts";
import { binaryBytes, composeMail } from "../../helpers/sample-mail.ts";

const corpusDir = new URL("../../../../shared/testdata/bounces/", import.meta.url).pathname;
const crlf = (raw: Buffer) => Buffer.from(raw.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1");

/** Compares the two readers on one mail; true when the fast one took it. */
async function agree(name: string, raw: Buffer): Promise<boolean> {
  const fast = readSimpleMime(raw);
  if (fast === null) return false;
  const reference = await readWithMailparser(raw);
  assert.deepEqual(fast, reference, `${name}: the fast reader differs from mailparser`);
  return true;
}

describe("the fast reader against mailparser", () => {
  test("real mail: the bounce corpus as received over SMTP", async (t) => {
    const files = readdirSync(corpusDir).filter((f) => f.endsWith(".eml"));
    assert.ok(files.length >= 500, `corpus at ${corpusDir}`);
    let taken = 0;
    for (const file of files) if (await agree(file, crlf(readFileSync(join(corpusDir, file))))) taken++;
    // Most bounces are multipart/report with message/* parts, which the fast reader leaves alone.
    assert.ok(taken > 0, "some plain bounces are taken");
    t.diagnostic(`the fast reader took ${taken} of ${files.length} corpus mails`);
  });

  test("composed mail in the shapes webhooks mostly receive: every one is taken, and read the same", async () => {
    const texts = ["plain ascii\nsecond line\n", "日本語の本文です。\r\n改行あり", "x".repeat(3000), "=?utf-8?B?not-a-word?= tab\there", ""];
    const htmls = [undefined, "<p>hello <b>world</b></p>", "<div>日本語</div>\n"];
    const attachmentSets = [
      [],
      [{ filename: "report.pdf", content: Buffer.from("%PDF-1.4 fake"), contentType: "application/pdf" }],
      [{ filename: "data.bin", content: binaryBytes(70_000) }],
      [
        { filename: "請求書 №1.pdf", content: Buffer.from("pdf"), contentType: "application/pdf" },
        { filename: "notes.txt", content: "inline-looking text attachment\n", contentType: "text/plain" },
        { filename: "noext", content: binaryBytes(10) },
        { content: "no filename at all", contentType: "application/x-custom" },
      ],
    ];
    const encodings = [undefined, "quoted-printable", "base64"] as const;
    let n = 0;
    for (const text of texts) {
      for (const html of htmls) {
        for (const attachments of attachmentSets) {
          for (const textEncoding of encodings) {
            const raw = crlf(await composeMail({
              from: "Sender <sender@example.net>",
              to: "in@example.com",
              subject: n % 2 === 0 ? `Subject ${n} 注文` : `plain subject ${n}`,
              text,
              ...(html === undefined ? {} : { html }),
              attachments,
              ...(textEncoding === undefined ? {} : { textEncoding }),
            }));
            const taken = await agree(`composed #${n}`, raw);
            // An empty text part is one shape the fast reader leaves to mailparser.
            if (text !== "") assert.equal(taken, true, `composed #${n} should be taken`);
            n++;
          }
        }
      }
    }
  });

  const edge = (name: string, lines: string[]) => ({ name, raw: Buffer.from(lines.join("\r\n"), "utf8") });
  const edgeCases = [
    edge("no content type, no trailing newline", ["Subject: x", "", "body"]),
    edge("empty body", ["Subject: x", "Content-Type: text/plain", "", ""]),
    edge("folded subject with an encoded word", ["Subject: =?UTF-8?Q?caf=C3=A9?=", " and more", "", "b"]),
    edge("quoted-printable soft breaks", ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "", "caf=C3=A9 long=", "line =3D end", ""]),
    edge("preamble and epilogue", ["Content-Type: multipart/mixed; boundary=\"b1\"", "", "preamble", "--b1", "Content-Type: text/plain", "", "one", "--b1", "Content-Type: text/html", "", "<p>two</p>", "--b1--", "epilogue", ""]),
    edge("alternative nested in mixed with an inline image", [
      "Content-Type: multipart/mixed; boundary=outer", "", "--outer", "Content-Type: multipart/alternative; boundary=inner", "",
      "--inner", "Content-Type: text/plain", "", "t", "--inner", "Content-Type: text/html", "", "<b>h</b>", "--inner--", "",
      "--outer", "Content-Type: image/png; name=\"a.png\"", "Content-Disposition: inline", "Content-Transfer-Encoding: base64", "", "iVBORw0KGgo=", "--outer--", "",
    ]),
    edge("RFC 2231 filename", ["Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: text/plain", "", "t", "--b",
      "Content-Type: application/octet-stream", "Content-Disposition: attachment; filename*=utf-8''%E6%97%A5%E6%9C%AC.txt", "", "data", "--b--", ""]),
    edge("encoded-word filename and odd disposition", ["Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: text/plain", "", "t", "--b",
      "Content-Type: text/plain; name=\"=?UTF-8?B?5pel5pys?=.txt\"", "Content-Disposition: weird", "", "data", "--b--", ""]),
    edge("html only (mailparser makes text from it: declined)", ["Content-Type: text/html", "", "<p>x</p>"]),
    edge("text and html side by side in mixed (declined)", ["Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: text/plain", "", "t", "--b", "Content-Type: text/html", "", "<p>h</p>", "--b--", ""]),
    edge("latin-1 charset (declined)", ["Content-Type: text/plain; charset=iso-8859-1", "", "caf\u00e9"]),
    edge("missing close delimiter (declined)", ["Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: text/plain", "", "t", ""]),
    edge("delimiter with trailing junk (declined)", ["Content-Type: multipart/mixed; boundary=b", "", "--b junk", "Content-Type: text/plain", "", "t", "--b--", ""]),
    edge("padding inside base64 (declined)", ["Content-Type: text/plain", "Content-Transfer-Encoding: base64", "", "QQ==QUJD"]),
    edge("base64 with junk characters", ["Content-Type: text/plain", "Content-Transfer-Encoding: base64", "", "QU*JD", "RE-VG"]),
    edge("a single part naming a boundary: mailparser splits it anyway (declined)", ["Content-Type: text/plain; boundary=b", "", "--b", "Content-Type: application/pdf; name=x.pdf", "", "PDF", "--b--", ""]),
    edge("a filename folded with a tab", ["Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: text/plain", "", "hi", "--b",
      "Content-Type: application/pdf; name=\"report", "\t2024.pdf\"", "", "PDF", "--b--", ""]),
    edge("a boundary folded over a line (declined)", ["Content-Type: multipart/mixed; boundary=\"ab", "   cd\"", "", "--ab   cd", "Content-Type: text/plain", "", "hi", "--ab   cd--", ""]),
    edge("a filename that decodes to nothing", ["Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: text/plain", "", "hi", "--b",
      "Content-Type: application/octet-stream", "Content-Disposition: attachment; filename=\"=?utf-8?q??=\"", "", "DATA", "--b--", ""]),
    edge("more parts than mailparser allows (declined)", ["Content-Type: multipart/mixed; boundary=b", "",
      ...Array.from({ length: 1200 }, () => ["--b", "Content-Type: application/octet-stream", "", "x"]).flat(), "--b--", ""]),
    edge("empty text part beside html in alternative (declined)", ["Content-Type: multipart/alternative; boundary=b", "", "--b", "Content-Type: text/plain", "", "", "--b", "Content-Type: text/html", "", "<i>h</i>", "--b--", ""]),
  ];
  for (const { name, raw } of edgeCases) {
    test(`edge case: ${name}`, async () => {
      const taken = await agree(name, raw);
      if (name.includes("(declined)")) assert.equal(taken, false);
    });
  }

  test("bare LF, bare CR and 8-bit headers are declined, not guessed at", () => {
    assert.equal(readSimpleMime(Buffer.from("Subject: x\n\nbody\n")), null);
    assert.equal(readSimpleMime(Buffer.from("Subject: x\r\n\r\nbo\rdy\r\n")), null);
    assert.equal(readSimpleMime(Buffer.from("Subject: café\r\n\r\nbody\r\n")), null);
  });
});
