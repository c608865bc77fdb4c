import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuAllowance, cpusOfCgroupV1, cpusOfCgroupV2 } from "../../../relay/deliver/cpu-allowance.ts";
import { wantsPostingThread } from "../../../relay/deliver/inbound-poster.ts";

test("cgroup quotas read as CPUs; no quota, or one that cannot be read, is none", () => {
  assert.equal(cpusOfCgroupV2("150000 100000\n"), 1.5);
  assert.equal(cpusOfCgroupV2("max 100000\n"), undefined);
  assert.equal(cpusOfCgroupV2(""), undefined);
  assert.equal(cpusOfCgroupV1("200000\n", "100000\n"), 2);
  assert.equal(cpusOfCgroupV1("-1\n", "100000\n"), undefined);
  assert.equal(cpusOfCgroupV1("0", "100000"), undefined);
});

const files = (entries: Record<string, string>) => (path: string) => entries[path];

test("the allowance is the lowest of the scheduler's CPUs and every quota that applies", () => {
  // A Kubernetes container with cgroup v2 and its own namespace: the quota is at the root it sees.
  assert.equal(cpuAllowance(files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "100000 100000\n" }), 8), 1);
  // No cgroup namespace: the process's own cgroup, named in /proc/self/cgroup.
  const own = files({ "/proc/self/cgroup": "0::/kubepods/pod1/c1\n", "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "50000 100000\n" });
  assert.equal(cpuAllowance(own, 8), 0.5);
  // cgroup v1.
  const v1 = files({ "/proc/self/cgroup": "1:cpu:/\n", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "300000", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000" });
  assert.equal(cpuAllowance(v1, 8), 3);
  // A quota above the machine's CPUs, no quota, nothing readable: the scheduler's count.
  assert.equal(cpuAllowance(files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "800000 100000" }), 2), 2);
  assert.equal(cpuAllowance(files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "max 100000" }), 4), 4);
  assert.equal(cpuAllowance(files({}), 4), 4);
});

test("posts get their own thread from 1.5 CPUs up, unless the setting says otherwise", () => {
  assert.equal(wantsPostingThread("auto", () => 1), false);
  assert.equal(wantsPostingThread("auto", () => 1.5), true);
  assert.equal(wantsPostingThread("auto", () => 16), true);
  assert.equal(wantsPostingThread(false, () => 16), false);
  assert.equal(wantsPostingThread(true, () => 1), true);
});
