/** Process lookups through /proc, so tests can find and end what they started by PID, never by name. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** One-letter state from /proc/PID/stat; `Z` means exited and waiting to be reaped. */
  state: string;
  argv: string[];
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm (field 2) may hold spaces and parentheses, so parse from the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    return { pid, ppid: Number(ppid), state: state!, argv };
  } catch {
    return undefined; // exited while we looked
  }
}

export function listProcesses(): ProcessInfo[] {
  return readdirSync("/proc").filter((e) => /^\d+$/.test(e)).flatMap((e) => readProcess(Number(e)) ?? []);
}

/** Whether `pid` still runs; a zombie counts as gone, since only its parent can reap it. */
export function isRunning(pid: number): boolean {
  const info = readProcess(pid);
  return info !== undefined && info.state !== "Z";
}

/** All processes below `roots` in the parent tree, not including the roots. */
export function descendantsOf(roots: number[], procs = listProcesses()): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const found: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** The network namespace of `pid` as the kernel names it (`net:[4026532...]`), or undefined once it has exited. */
export function netnsOf(pid: number | "self"): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

export function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Resolves once none of `pids` runs; rejects naming the survivors after `timeoutMs`. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(isRunning);
    if (left.length === 0) return;
    if (Date.now() > until) throw new Error(`processes still running after ${timeoutMs} ms: ${left.join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
