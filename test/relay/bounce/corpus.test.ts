// The analysis measured on 586 real bounce mails labelled with the expected result (see
// shared/testdata/bounces/README.md). The floors below are what the rules achieve today: a change that
// lowers any of them fails here, one that raises them should raise the floor too.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { analyseBounce } from "../../../relay/bounce/analyse.ts";
import type { BounceAnalysis } from "../../../relay/bounce/analyse.ts";
import { corpusFiles, loadExpected, readCorpusFile } from "./corpus.ts";
import type { ExpectedRecipient } from "./corpus.ts";

// Measured: errorStatus 578/626 recipients, reason 556/626, files fully right 541/586, recipient count
// 581/586, verdict 586/586, enhancedStatus 422/462, replyCode 411/438.
const FLOOR = {
  errorStatus: 578,
  reason: 556,
  filesFullyRight: 541,
  recipientCount: 581,
  verdict: 586,
  enhancedStatus: 422,
  replyCode: 411,
};

// Sisimai invents x.0.9xx statuses for mails that carry none; a mail that carries none has none to find.
const isInventedStatus = (status: string) => /^[45]\.0\.9\d\d$/.test(status);

interface Tally {
  right: number;
  total: number;
}
const tally = (): Tally => ({ right: 0, total: 0 });
const count = (t: Tally, ok: boolean) => {
  t.total++;
  if (ok) t.right++;
};
const share = (t: Tally) => `${t.right}/${t.total} (${((100 * t.right) / Math.max(1, t.total)).toFixed(1)}%)`;

describe("the bounce corpus", () => {
  const expected = loadExpected();
  const results = new Map<string, BounceAnalysis>();
  const errorStatus = tally();
  const reason = tally();
  const filesFullyRight = tally();
  const recipientCount = tally();
  const verdict = tally();
  const enhancedStatus = tally();
  const replyCode = tally();
  const misses: string[] = [];

  before(async () => {
    for (const file of corpusFiles()) results.set(file, await analyseBounce(readCorpusFile(file)));
    for (const [file, want] of Object.entries(expected)) {
      const got = results.get(file);
      assert.ok(got, `${file} is listed in expected.json but missing from the corpus`);
      score(file, want, got);
    }
  });

  function score(file: string, want: ExpectedRecipient[], got: BounceAnalysis): void {
    const isBounce = want.some((r) => r.errorStatus !== null);
    count(verdict, got.bounce === isBounce);
    count(recipientCount, got.recipients.length === want.length);
    let fileRight = got.bounce === isBounce && got.recipients.length === want.length;
    want.forEach((w, i) => {
      const g = got.recipients[i];
      const statusRight = g !== undefined && g.errorStatus === w.errorStatus;
      count(errorStatus, statusRight);
      count(reason, g?.reason === w.reason);
      if (!statusRight) {
        fileRight = false;
        misses.push(`${file} #${w.recipientIndex}: want ${w.reason} (${w.errorStatus}), got ${g?.reason} (${g?.errorStatus})`);
      }
      if (w.enhancedStatus !== "" && !isInventedStatus(w.enhancedStatus)) count(enhancedStatus, g?.enhancedStatus === w.enhancedStatus);
      if (w.replyCode !== "") count(replyCode, g?.replyCode === w.replyCode);
    });
    count(filesFullyRight, fileRight);
  }

  test("every mail is analysed, and every recipient is named by one address (or a mailbox path)", () => {
    assert.equal(results.size, Object.keys(expected).length);
    for (const [file, analysis] of results) {
      for (const r of analysis.recipients) assert.match(r.address, /^(?:[^@\s]+@[^@\s]+|\/\S+)$/, `${file}: ${r.address}`);
    }
  });

  test("error statuses are right for at least the measured share of recipients", (t) => {
    t.diagnostic(`errorStatus right for ${share(errorStatus)} recipients; reason (Sisimai cause) right for ${share(reason)}`);
    t.diagnostic(`files fully right (verdict, recipient count, every errorStatus): ${share(filesFullyRight)}`);
    for (const miss of misses) t.diagnostic(`miss: ${miss}`);
    assert.ok(errorStatus.right >= FLOOR.errorStatus, `errorStatus ${share(errorStatus)} fell below ${FLOOR.errorStatus}`);
    assert.ok(reason.right >= FLOOR.reason, `reason ${share(reason)} fell below ${FLOOR.reason}`);
    assert.ok(filesFullyRight.right >= FLOOR.filesFullyRight, `files ${share(filesFullyRight)} fell below ${FLOOR.filesFullyRight}`);
  });

  test("bounces are told from complaints, auto-replies and success notices, and recipients are counted", (t) => {
    t.diagnostic(`bounce verdict right for ${share(verdict)} files; recipient count right for ${share(recipientCount)}`);
    assert.ok(verdict.right >= FLOOR.verdict, `verdict ${share(verdict)} fell below ${FLOOR.verdict}`);
    assert.ok(recipientCount.right >= FLOOR.recipientCount, `recipient count ${share(recipientCount)} fell below ${FLOOR.recipientCount}`);
  });

  test("enhanced status codes and reply codes carried by the mails are found", (t) => {
    t.diagnostic(`enhancedStatus right for ${share(enhancedStatus)} recipients (statuses Sisimai invented left out)`);
    t.diagnostic(`replyCode right for ${share(replyCode)} recipients`);
    assert.ok(enhancedStatus.right >= FLOOR.enhancedStatus, `enhancedStatus ${share(enhancedStatus)} fell below ${FLOOR.enhancedStatus}`);
    assert.ok(replyCode.right >= FLOOR.replyCode, `replyCode ${share(replyCode)} fell below ${FLOOR.replyCode}`);
  });

  test("no complaint report, auto-reply or success notice is taken for a bounce", () => {
    for (const [file, want] of Object.entries(expected)) {
      if (want.every((r) => r.errorStatus === null)) {
        const got = results.get(file)!;
        assert.equal(got.bounce, false, `${file} (${want[0]?.reason}) was taken for a bounce`);
        assert.ok(got.recipients.every((r) => r.errorStatus === null), file);
      }
    }
  });
});
