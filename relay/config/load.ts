// Reads relay.yaml once at start-up: a precise message and a non-zero exit beat a relay that runs on
// silently defaulted settings.
import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import { relaySettings, type RelaySettings } from "./schema.ts";

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
}

export async function loadRelaySettings(file: string): Promise<RelaySettings> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as Error).message}`);
  }
  return parseRelaySettings(text, file);
}

export function parseRelaySettings(text: string, file: string): RelaySettings {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${file}: ${e.message}`).join("\n"));
  }
  const parsed = relaySettings.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${file}: ${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`);
    throw new ConfigError(lines.join("\n"));
  }
  return Object.freeze(parsed.data);
}
