// Child processes and temp dirs of the bench: every one is registered, so whatever way the harness ends
// (done, error, Ctrl-C), none outlives it. Also the /proc readings the report needs.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { once } from "node:events";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { isMessage } from "./protocol.ts";

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Remove `dir` at exit unless `forget` (below) was called for it first. */
export function removeAtExit(dir: string): void {
  tempDirs.add(dir);
}

export function forget(dir: string): void {
  tempDirs.delete(dir);
}

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/** Synchronous, for process "exit": SIGKILL whatever is still running, remove leftover temp dirs. */
export function cleanUpNow(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last few KB the child wrote to stderr, for error messages. */
  stderrTail(): string;
  /** Resolves, with how it ended and its stderr tail, when the child has exited. */
  readonly exited: Promise<string>;
  /** The first IPC message of `type`; rejects when the child exits first or the time is up. */
  message<T extends { type: string }>(type: T["type"], timeoutMs: number): Promise<T>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

function wrap(child: ChildProcess, what: string): Child {
  track(child);
  if (child.pid === undefined) throw new Error(`${what}: could not start`);
  const pid = child.pid;
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (s: string) => {
    tail = (tail + s).slice(-4096);
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const describe = (code: number | null, signal: string | null) =>
    `${what} exited (${signal ?? `code ${code}`})${tail ? `: ${tail.trim().slice(-800)}` : ""}`;
  return {
    process: child,
    pid,
    stderrTail: () => tail.trim(),
    exited: new Promise<string>((resolve) => {
      if (exited()) resolve(describe(child.exitCode, child.signalCode));
      else child.once("exit", (code, signal) => resolve(describe(code, signal)));
    }),
    message<T extends { type: string }>(type: T["type"], timeoutMs: number) {
      return new Promise<T>((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          child.off("message", onMessage);
          child.off("exit", onExit);
        };
        const onMessage = (m: unknown) => {
          if (isMessage<T>(m, type)) {
            cleanup();
            resolve(m);
          }
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          reject(new Error(`before "${type}": ${describe(code, signal)}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${what}: no "${type}" within ${timeoutMs} ms`));
        }, timeoutMs);
        child.on("message", onMessage);
        child.once("exit", onExit);
        if (exited()) onExit(child.exitCode, child.signalCode);
      });
    },
    async stop(graceMs = 5000) {
      if (exited()) return;
      const gone = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** A bench module (this folder) in its own Node process with an IPC channel. */
export function forkModule(modulePath: string, args: string[], what: string, execArgv: string[] = []): Child {
  return wrap(fork(modulePath, args, { execPath: process.execPath, execArgv, stdio: ["ignore", "ignore", "pipe", "ipc"] }), what);
}

/** Node flags for a system under test: a CPU profile per process when BENCH_PROFILE_DIR names a folder. */
export function profilingFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const dir = env.BENCH_PROFILE_DIR;
  return dir === undefined || dir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

/** Any program, no IPC; stdout is dropped (the relay logs on stderr). */
export function spawnProgram(command: string, args: string[], cwd: string, what: string): Child {
  return wrap(spawn(command, args, { cwd, stdio: ["ignore", "ignore", "pipe"] }), what);
}

/** A port that was free a moment ago on 127.0.0.1 (for programs that must be told their port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  server.close();
  await once(server, "close");
  return port;
}

// ---- /proc ----

export interface ProcUsage {
  /** utime + stime of every thread, in seconds. */
  cpuSeconds: number;
  /** utime + stime of the main thread alone (the event loop), in seconds. */
  loopCpuSeconds: number;
  /** VmHWM: the process's peak resident set size. */
  peakRssBytes: number | null;
  /** VmRSS: its resident set size now. */
  rssBytes: number | null;
}

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux build that matters (USER_HZ). */
const clockTicks = 100;

/** utime + stime from a /proc stat file, in seconds. */
function statCpuSeconds(path: string): number {
  const stat = readFileSync(path, "utf8");
  // Fields after the command name, which may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

export function procUsage(pid: number): ProcUsage {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kB = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
    return m?.[1] === undefined ? null : Number(m[1]) * 1024;
  };
  return {
    cpuSeconds: statCpuSeconds(`/proc/${pid}/stat`),
    // The main thread's task id is the process id.
    loopCpuSeconds: statCpuSeconds(`/proc/${pid}/task/${pid}/stat`),
    peakRssBytes: kB("VmHWM"),
    rssBytes: kB("VmRSS"),
  };
}
