// SMTP AUTH users for the submission listener, from a file of `username:password` lines or from a
// folder holding one file per user (a mounted Kubernetes Secret: key = username, value = password).
// Passwords are kept only as HMAC-SHA256 digests under a per-process key and compared in constant
// time. The source is re-read when it changes, so a rotated Secret applies without a restart.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

const MAX_USERS_BYTES = 1024 * 1024;

export class AuthUsersError extends Error {
  readonly code = "AUTH_USERS_INVALID";
}

export interface AuthUsers {
  /** True when `username` exists and `password` is its password. Never throws for bad input. */
  verify(username: string, password: string): Promise<boolean>;
}

export async function loadAuthUsers(path: string): Promise<AuthUsers> {
  const key = randomBytes(32);
  const digest = (password: string) => createHmac("sha256", key).update(password, "utf8").digest();
  let users = new Map<string, Buffer>();
  let version = "";

  const refresh = async (): Promise<void> => {
    const current = await sourceVersion(path);
    if (current === version) return;
    const entries = await readUsers(path);
    users = new Map([...entries].map(([user, password]) => [user, digest(password)]));
    version = current;
  };
  await refresh();

  // An absent user is compared against a random digest, so timing does not tell users apart.
  const decoy = digest(randomBytes(16).toString("hex"));
  return {
    async verify(username, password) {
      // A failed refresh (file half-written) keeps the users we had.
      await refresh().catch(() => undefined);
      const expected = users.get(username);
      const same = timingSafeEqual(digest(password), expected ?? decoy);
      return expected !== undefined && same;
    },
  };
}

/** Changes whenever the file, or any file of the folder, changes. */
async function sourceVersion(path: string): Promise<string> {
  const info = await stat(path);
  if (!info.isDirectory()) return `${info.mtimeMs}:${info.size}`;
  const names = (await readdir(path)).filter((n) => !n.startsWith(".")).sort();
  const parts = await Promise.all(names.map(async (n) => `${n}@${(await stat(join(path, n))).mtimeMs}`));
  return parts.join(",");
}

async function readUsers(path: string): Promise<Map<string, string>> {
  const info = await stat(path).catch((err: Error) => {
    throw new AuthUsersError(`submission.authUsersFile ${path}: ${err.message}`);
  });
  const users = new Map<string, string>();
  if (info.isDirectory()) {
    // Kubernetes mounts Secret keys as files and keeps its own bookkeeping in dot-entries.
    for (const name of (await readdir(path)).filter((n) => !n.startsWith("."))) {
      const file = join(path, name);
      if (!(await stat(file)).isFile()) continue;
      users.set(name, (await readFile(file, "utf8")).replace(/\r?\n$/, ""));
    }
    return users;
  }
  if (info.size > MAX_USERS_BYTES) throw new AuthUsersError(`submission.authUsersFile ${path}: larger than ${MAX_USERS_BYTES} bytes`);
  const lines = (await readFile(path, "utf8")).split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    // The line number, never the line: it holds a password.
    if (colon <= 0) throw new AuthUsersError(`submission.authUsersFile ${path}:${i + 1}: expected username:password`);
    users.set(line.slice(0, colon), line.slice(colon + 1));
  });
  return users;
}
