import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { runBounce } from "../../../relay/bounce/bounce-command.ts";
import { CORPUS_DIR } from "./corpus.ts";

function capture() {
  let stdout = "";
  let stderr = "";
  return {
    out: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

const corpus = (name: string) => fileURLToPath(new URL(name, CORPUS_DIR));

describe("mailhook bounce", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mailhook-bounce-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("prints one JSON object per file and line, with the SPEC's keys in the SPEC's order", async () => {
    const files = [corpus("lhost-postfix-02.eml"), corpus("arf-16.eml")];
    const io = capture();
    assert.equal(await runBounce(files, io.out), 0);
    assert.equal(io.stderr, "");
    const lines = io.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 2);
    const [bounce, complaint] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);

    assert.deepEqual(Object.keys(bounce!), ["file", "bounce", "recipients"]);
    assert.equal(bounce!.file, files[0]);
    assert.equal(bounce!.bounce, true);
    const recipients = bounce!.recipients as Record<string, unknown>[];
    assert.deepEqual(
      recipients.map((r) => Object.keys(r)),
      [0, 1].map(() => ["address", "enhancedStatus", "replyCode", "errorStatus", "diagnostic"]),
    );
    assert.deepEqual(
      recipients.map(({ address, enhancedStatus, replyCode, errorStatus }) => ({ address, enhancedStatus, replyCode, errorStatus })),
      [
        { address: "filtered@example.co.jp", enhancedStatus: "5.2.1", replyCode: "550", errorStatus: 2 },
        { address: "userunknown@example.co.jp", enhancedStatus: "5.1.1", replyCode: "550", errorStatus: 2 },
      ],
    );
    assert.match(String(recipients[1]!.diagnostic), /User Unknown/);

    assert.equal(complaint!.bounce, false);
    assert.ok((complaint!.recipients as { errorStatus: unknown }[]).every((r) => r.errorStatus === null));
  });

  test("an unreadable file is named on stderr and makes the exit non-zero, the others still print", async () => {
    const missing = join(dir, "missing.eml");
    const io = capture();
    assert.equal(await runBounce([missing, corpus("lhost-qmail-01.eml"), dir], io.out), 1);
    assert.equal(io.stdout.trimEnd().split("\n").length, 1);
    assert.equal((JSON.parse(io.stdout) as { file: string }).file, corpus("lhost-qmail-01.eml"));
    assert.match(io.stderr, new RegExp(`cannot read ${missing}: ENOENT`));
    assert.match(io.stderr, /EISDIR/);
  });

  test("a file that is no bounce at all still gets its line, saying so", async () => {
    const path = join(dir, "note.eml");
    await writeFile(path, "From: a@example.com\nTo: b@example.com\nSubject: hello\n\nJust a note.\n");
    const io = capture();
    assert.equal(await runBounce([path], io.out), 0);
    assert.deepEqual(JSON.parse(io.stdout), { file: path, bounce: false, recipients: [] });
  });

  test("without files it prints usage and exits 2", async () => {
    const io = capture();
    assert.equal(await runBounce([], io.out), 2);
    assert.match(io.stderr, /usage: mailhook bounce FILE/);
  });
});
