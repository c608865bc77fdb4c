// Secrets: checked as the API server would, indexed by namespace/name, and resolved into the credentials
// a webhook references. Pure. No message here ever includes a Secret value.
import type { ResolvedAuth } from "../../relay/config/schema.ts";
import type { AuthSpec } from "../api/common.ts";
import { formatPath, parseWith } from "../api/issues.ts";
import { secretManifest, secretValues } from "../api/secret.ts";
import { FirstClaims, identify } from "./identity.ts";
import { locate, type Problem, type SourcedObject } from "./problems.ts";

/** A Secret by `namespace/name`: its values, or `invalid` when the API server would have refused it. */
export type SecretIndex = ReadonlyMap<string, ReadonlyMap<string, Uint8Array> | "invalid">;

export function indexSecrets(secrets: readonly SourcedObject[], defaultNamespace: string): { index: SecretIndex; problems: Problem[] } {
  const index = new Map<string, ReadonlyMap<string, Uint8Array> | "invalid">();
  const problems: Problem[] = [];
  const claims = new FirstClaims("Secret");
  for (const { object, source } of secrets) {
    const { key } = identify(object, defaultNamespace);
    const duplicate = key === undefined ? undefined : claims.claim(key, source);
    if (duplicate !== undefined) {
      problems.push(duplicate);
      continue;
    }
    const parsed = parseWith(secretManifest, object);
    if (!parsed.success) {
      for (const issue of parsed.issues) {
        const field = formatPath(issue.path);
        problems.push({ reason: "InvalidManifest", message: issue.message, ...locate(source, issue.path), kind: "Secret", ...(key !== undefined && { key }), field });
      }
    }
    if (key !== undefined) index.set(key, parsed.success ? secretValues(parsed.data) : "invalid");
  }
  return { index, problems };
}

/** Why a referenced credential cannot be used; `path` is the reference in the webhook's spec. */
export interface AuthIssue {
  path: (string | number)[];
  reason: "SecretNotFound" | "InvalidSecret";
  message: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const whsec = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
/** Standard Webhooks: a signing secret SHOULD be 24 to 64 random bytes; shorter ones are refused. */
const minSigningSecretBytes = 24;

type RefName = "basicSecretRef" | "apiKeySecretRef" | "signingSecretRef";

/**
 * Resolves the webhook's auth references against Secrets in its own namespace (no cross-namespace
 * references). Returns everything that is wrong, not just the first thing.
 */
export function resolveAuth(auth: AuthSpec | undefined, namespace: string, index: SecretIndex): { auth: ResolvedAuth; issues: AuthIssue[] } {
  const resolved: ResolvedAuth = {};
  const issues: AuthIssue[] = [];

  /** The text of one key of the referenced Secret, or undefined after recording why not. */
  function read(ref: RefName, name: string, key: string): string | undefined {
    const path = ["spec", "auth", ref];
    const secret = index.get(`${namespace}/${name}`);
    if (secret === undefined || secret === "invalid") {
      const message = secret === undefined ? `Secret "${name}" not found in namespace ${namespace}` : `Secret ${namespace}/${name} is invalid (see its own problems)`;
      issues.push({ path, reason: "SecretNotFound", message });
      return undefined;
    }
    const bytes = secret.get(key);
    if (bytes === undefined) {
      issues.push({ path, reason: "SecretNotFound", message: `Secret ${namespace}/${name} has no key "${key}"` });
      return undefined;
    }
    const invalid = (why: string) => issues.push({ path, reason: "InvalidSecret", message: `key "${key}" of Secret ${namespace}/${name} ${why}` });
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      invalid("is not valid UTF-8");
      return undefined;
    }
    if (text === "") {
      invalid("is empty");
      return undefined;
    }
    return text;
  }

  if (auth?.basicSecretRef !== undefined) {
    const { name } = auth.basicSecretRef;
    const username = read("basicSecretRef", name, "username");
    const password = read("basicSecretRef", name, "password");
    if (username?.includes(":")) {
      issues.push({
        path: ["spec", "auth", "basicSecretRef"],
        reason: "InvalidSecret",
        message: `key "username" of Secret ${namespace}/${name} must not contain ':' (HTTP Basic auth)`,
      });
    } else if (username !== undefined && password !== undefined) {
      resolved.basic = { username, password };
    }
  }

  if (auth?.apiKeySecretRef !== undefined) {
    const apiKey = read("apiKeySecretRef", auth.apiKeySecretRef.name, auth.apiKeySecretRef.key);
    if (apiKey !== undefined) resolved.apiKey = apiKey;
  }

  if (auth?.signingSecretRef !== undefined) {
    const { name, key } = auth.signingSecretRef;
    const value = read("signingSecretRef", name, key);
    if (value !== undefined) {
      // Several secrets, separated by white space, while a rotation is under way: each one signs.
      const secrets = [...new Set(value.split(/\s+/).filter((s) => s !== ""))];
      const bad = secrets.findIndex((s) => {
        const base64 = whsec.exec(s)?.[1];
        return base64 === undefined || base64.length % 4 !== 0 || Buffer.from(base64, "base64").byteLength < minSigningSecretBytes;
      });
      if (secrets.length === 0 || bad !== -1) {
        const which = secrets.length > 1 ? `secret ${bad + 1} of ${secrets.length} in ` : "";
        issues.push({
          path: ["spec", "auth", "signingSecretRef"],
          reason: "InvalidSecret",
          message: `${which}key "${key}" of Secret ${namespace}/${name} must be "whsec_" followed by the base64 of at least ${minSigningSecretBytes} random bytes`,
        });
      } else {
        resolved.signingSecrets = secrets;
      }
    }
  }

  return { auth: resolved, issues };
}
