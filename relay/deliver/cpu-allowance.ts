// How many CPUs this process may really use: the scheduler's view (CPU affinity, through
// availableParallelism) capped by a cgroup CPU quota, which is what a Kubernetes CPU limit becomes and
// which Node does not look at. relay.ts uses it to decide whether inbound posts get a thread of their own.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

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

type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/**
 * CPUs available to this process: availableParallelism(), or the cgroup quota when lower. The quota is
 * looked up where a container sees its own cgroup (v2: the path in /proc/self/cgroup, else the root;
 * v1: the cpu controller's root); none found means none applies.
 */
export function cpuAllowance(read: ReadText = readText, parallelism: number = availableParallelism()): number {
  const ownV2 = /^0::(\/.*)$/m.exec(read("/proc/self/cgroup") ?? "")?.[1];
  const candidates: (number | undefined)[] = [];
  for (const dir of new Set([ownV2 === undefined ? undefined : `/sys/fs/cgroup${ownV2 === "/" ? "" : ownV2}`, "/sys/fs/cgroup"])) {
    if (dir === undefined) continue;
    const cpuMax = read(`${dir}/cpu.max`);
    if (cpuMax !== undefined) candidates.push(cpusOfCgroupV2(cpuMax));
  }
  const quotaUs = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  const periodUs = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  if (quotaUs !== undefined && periodUs !== undefined) candidates.push(cpusOfCgroupV1(quotaUs, periodUs));
  return Math.min(parallelism, ...candidates.filter((c): c is number => c !== undefined));
}
