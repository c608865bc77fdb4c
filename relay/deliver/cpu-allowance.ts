// How many CPUs this process may really use, fractions included: the CPUs it may be scheduled on
// (affinity, a cpuset), capped by a cgroup CPU quota, which is what a Kubernetes CPU limit becomes.
// availableParallelism() is no help here: libuv rounds the quota down (a 1500m limit reads as 1).
// relay.ts uses this to decide whether inbound posts get a thread of their own.
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

/** cgroup v2 `cpu.max` ("<quota> <period>", or "max <period>" for none) in CPUs; undefined: no quota. */
export function cpusOfCgroupV2(cpuMax: string): number | undefined {
  const [quota, period] = cpuMax.trim().split(/\s+/);
  return quotaCpus(quota, period);
}

/** cgroup v1 `cpu.cfs_quota_us` (-1 for none) and `cpu.cfs_period_us` in CPUs; undefined: no quota. */
export function cpusOfCgroupV1(quotaUs: string, periodUs: string): number | undefined {
  return quotaCpus(quotaUs.trim(), periodUs.trim());
}

function quotaCpus(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined || !/^\d+$/.test(quota) || !/^\d+$/.test(period)) return undefined;
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

/** How many CPUs a kernel CPU list names ("0-3,6"); undefined if it is not one. */
export function cpuListSize(list: string): number | undefined {
  let n = 0;
  for (const range of list.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(range);
    if (m === null) return undefined;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) return undefined;
    n += last - first + 1;
  }
  return n > 0 ? n : undefined;
}

type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** A cgroup and its ancestors, own first: "/a/b" → ["/a/b", "/a", ""]. A quota anywhere up applies. */
function selfAndAncestors(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "" && p !== "..");
  return parts.map((_, i) => `/${parts.slice(0, parts.length - i).join("/")}`).concat("");
}

/**
 * CPUs available to this process. Affinity from /proc/self/status (else the machine's CPU count); the
 * lowest quota of its cgroup and every ancestor, as far as this process can see them (in a container
 * with its own cgroup namespace its cgroup is the root it sees): cgroup v2 `cpu.max`, or v1's cpu
 * controller. None readable means none applies.
 */
export function cpuAllowance(read: ReadText = readText, machineCpus: number = cpus().length): number {
  const allowed = /^Cpus_allowed_list:\s*(\S+)/m.exec(read("/proc/self/status") ?? "")?.[1];
  const limits = [(allowed === undefined ? undefined : cpuListSize(allowed)) ?? machineCpus];
  const cgroups = read("/proc/self/cgroup") ?? "";
  const v2 = /^0::(\/.*)$/m.exec(cgroups)?.[1] ?? "/";
  for (const dir of selfAndAncestors(v2)) {
    const cpuMax = read(`/sys/fs/cgroup${dir}/cpu.max`);
    if (cpuMax !== undefined) limits.push(cpusOfCgroupV2(cpuMax) ?? Infinity);
  }
  const v1 = /^\d+:(?:[^:]*,)?cpu(?:,[^:]*)?:(\/.*)$/m.exec(cgroups)?.[1] ?? "/";
  for (const dir of selfAndAncestors(v1)) {
    const quota = read(`/sys/fs/cgroup/cpu${dir}/cpu.cfs_quota_us`);
    const period = read(`/sys/fs/cgroup/cpu${dir}/cpu.cfs_period_us`);
    if (quota !== undefined && period !== undefined) limits.push(cpusOfCgroupV1(quota, period) ?? Infinity);
  }
  return Math.min(...limits);
}
