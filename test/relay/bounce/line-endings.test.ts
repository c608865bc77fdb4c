// Bounces arrive with CRLF (SMTP), LF (mailbox files) or bare CR (old Mac tools): the analysis must
// not depend on which.
import assert from "node:assert/strict";
import { test } from "node:test";
import { analyseBounce } from "../../../relay/bounce/analyse.ts";
import { normaliseLineEndings } from "../../../relay/bounce/bounce-message.ts";
import { corpusFiles, readCorpusFile } from "./corpus.ts";

function withLineEnding(lf: Buffer, ending: "\r\n" | "\r"): Buffer {
  return Buffer.from(lf.toString("latin1").replaceAll("\n", ending), "latin1");
}

test("every corpus mail gives the same analysis with LF, CRLF and bare CR line endings", async () => {
  const files = corpusFiles();
  assert.ok(files.length > 500, "the corpus is in place");
  for (const file of files) {
    const stored = readCorpusFile(file);
    const expected = await analyseBounce(stored);
    // A few files hold a stray CR of their own; the variants start from all-LF.
    const lf = normaliseLineEndings(stored);
    assert.deepEqual(await analyseBounce(lf), expected, `${file} with LF`);
    assert.deepEqual(await analyseBounce(withLineEnding(lf, "\r\n")), expected, `${file} with CRLF`);
    assert.deepEqual(await analyseBounce(withLineEnding(lf, "\r")), expected, `${file} with bare CR`);
  }
});

test("line endings are normalised to LF, a CRLF pair counting once", () => {
  assert.equal(normaliseLineEndings(Buffer.from("a\r\nb\rc\nd\r\r\ne\n\r")).toString(), "a\nb\nc\nd\n\ne\n\n");
});
