import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuAllowance, cpuListSize, cpusOfCgroupV1, cpusOfCgroupV2 } from "../../../relay/deliver/cpu-allowance.ts";
import { wantsPostingThread } from "../../../relay/deliver/inbound-poster.ts";

test("cgroup quotas read as CPUs; no quota, or one that cannot be read, is none", () => {
  assert.equal(cpusOfCgroupV2("150000 100000\n"), 1.5);
  assert.equal(cpusOfCgroupV2("max 100000\n"), undefined);
  assert.equal(cpusOfCgroupV2(""), undefined);
  assert.equal(cpusOfCgroupV1("200000\n", "100000\n"), 2);
  assert.equal(cpusOfCgroupV1("-1\n", "100000\n"), undefined);
  assert.equal(cpusOfCgroupV1("0", "100000"), undefined);
});

test("a CPU list counts its CPUs", () => {
  assert.equal(cpuListSize("0-3,6\n"), 5);
  assert.equal(cpuListSize("7"), 1);
  assert.equal(cpuListSize("3-1"), undefined);
  assert.equal(cpuListSize("ff"), undefined);
});

const files = (entries: Record<string, string>) => (path: string) => entries[path];

test("the allowance is the lowest of the CPUs the process may run on and every quota over it", () => {
  // A Kubernetes container with cgroup v2 and its own namespace: a 1500m limit at the root it sees.
  const k8s = files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "150000 100000\n" });
  assert.equal(cpuAllowance(k8s, 8), 1.5);
  // No cgroup namespace: the process's own cgroup and its ancestors (here the pod's) count.
  const nested = files({
    "/proc/self/cgroup": "0::/kubepods/pod1/c1\n",
    "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000\n",
    "/sys/fs/cgroup/kubepods/pod1/cpu.max": "50000 100000\n",
    "/sys/fs/cgroup/kubepods/cpu.max": "max 100000\n",
  });
  assert.equal(cpuAllowance(nested, 8), 0.5);
  // cgroup v1, controllers listed together.
  const v1 = files({
    "/proc/self/cgroup": "4:cpu,cpuacct:/\n3:cpuset:/\n",
    "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "300000",
    "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000",
  });
  assert.equal(cpuAllowance(v1, 8), 3);
  // CPU affinity (a cpuset) below the quota.
  const pinned = files({ "/proc/self/status": "Name:\tnode\nCpus_allowed_list:\t2-3\n", "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "400000 100000" });
  assert.equal(cpuAllowance(pinned, 8), 2);
  // No quota, or nothing readable: the machine's CPUs.
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
