// The bounce corpus beside the clone (shared/testdata/bounces, read in place, never copied into the
// repository) and its expected analysis.
import { readFileSync, readdirSync } from "node:fs";

export const CORPUS_DIR = new URL("../../../../shared/testdata/bounces/", import.meta.url);

export interface ExpectedRecipient {
  recipientIndex: number;
  enhancedStatus: string;
  replyCode: string;
  reason: string;
  hardBounce: boolean;
  errorStatus: number | null;
}

export function loadExpected(): Record<string, ExpectedRecipient[]> {
  return JSON.parse(readFileSync(new URL("expected.json", CORPUS_DIR), "utf8")) as Record<string, ExpectedRecipient[]>;
}

export function corpusFiles(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((name) => name.endsWith(".eml"))
    .sort();
}

export function readCorpusFile(name: string): Buffer {
  return readFileSync(new URL(name, CORPUS_DIR));
}
