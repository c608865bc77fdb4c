import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadAuthUsers } from "../../../relay/submission/auth-users.ts";

const dir = await mkdtemp(join(tmpdir(), "mailhook-auth-"));
after(() => rm(dir, { recursive: true, force: true }));

test("a users file accepts exactly its username and password pairs", async () => {
  const file = join(dir, "users");
  await writeFile(file, "# relay sources\napp:s3cret:with:colons\nother:pw\n\n");
  const users = await loadAuthUsers(file);
  assert.equal(await users.verify("app", "s3cret:with:colons"), true);
  assert.equal(await users.verify("app", "s3cret"), false);
  assert.equal(await users.verify("other", "pw"), true);
  assert.equal(await users.verify("nobody", "pw"), false);
  assert.equal(await users.verify("", ""), false);
});

test("a mounted Secret folder gives one user per key, and a rotated password applies without a restart", async () => {
  const folder = join(dir, "secret");
  await mkdir(join(folder, "..data"), { recursive: true });
  await writeFile(join(folder, "app"), "first\n");
  const users = await loadAuthUsers(folder);
  assert.equal(await users.verify("app", "first"), true);
  assert.equal(await users.verify("..data", ""), false);

  await writeFile(join(folder, "app"), "second");
  await utimes(join(folder, "app"), new Date(), new Date(Date.now() + 5000));
  assert.equal(await users.verify("app", "first"), false);
  assert.equal(await users.verify("app", "second"), true);
});

test("a malformed line is reported by number, without its content", async () => {
  const file = join(dir, "bad");
  await writeFile(file, "ok:pw\nsecret-without-user\n");
  await assert.rejects(loadAuthUsers(file), (err: Error & { code?: string }) => {
    assert.equal(err.code, "AUTH_USERS_INVALID");
    assert.match(err.message, /bad:2: expected username:password/);
    assert.doesNotMatch(err.message, /secret-without-user/);
    return true;
  });
});
