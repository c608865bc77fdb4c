// `mailhook bounce FILE...` (SPEC section 4): the relay's bounce analysis, one JSON object per file and
// line, for people debugging bounces and for tests on real corpora. Exit 0 when every file was read,
// 1 when some could not be (each named on stderr; the others are still printed), 2 on wrong usage.
import { open } from "node:fs/promises";
import { analyseBounce } from "./analyse.ts";
import type { BounceAnalysis } from "./analyse.ts";
import { MAX_ANALYSED_BYTES } from "./bounce-message.ts";

export interface CommandOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export async function runBounce(files: readonly string[], out: CommandOutput): Promise<number> {
  if (files.length === 0) {
    out.stderr.write("usage: mailhook bounce FILE...  (bounce mails, one per file)\n");
    return 2;
  }
  let status = 0;
  for (const file of files) {
    let raw: Buffer;
    try {
      raw = await readHead(file, MAX_ANALYSED_BYTES);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      out.stderr.write(`mailhook bounce: cannot read ${file}: ${e.code ?? e.message}\n`);
      status = 1;
      continue;
    }
    out.stdout.write(`${formatAnalysis(file, await analyseBounce(raw))}\n`);
  }
  return status;
}

/** One line of output: the SPEC 4 keys, in the SPEC's order. */
export function formatAnalysis(file: string, analysis: BounceAnalysis): string {
  return JSON.stringify({
    file,
    bounce: analysis.bounce,
    recipients: analysis.recipients.map((r) => ({
      address: r.address,
      enhancedStatus: r.enhancedStatus,
      replyCode: r.replyCode,
      errorStatus: r.errorStatus,
      diagnostic: r.diagnostic,
    })),
  });
}

// The analysis reads no further than `limit` bytes, so a huge file is not loaded whole.
async function readHead(file: string, limit: number): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(limit);
    let filled = 0;
    while (filled < limit) {
      const { bytesRead } = await handle.read(buffer, filled, limit - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
