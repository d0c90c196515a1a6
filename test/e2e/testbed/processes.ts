import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

/**
 * A process the bed started. The start time (clock ticks since boot) is kept beside the PID because
 * PIDs are reused: a state file read after a crash must never make us signal somebody else's process.
 */
export interface ProcessRef {
  pid: number;
  startTime: number;
}

interface Stat {
  state: string;
  startTime: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses, so count fields from the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0]!, startTime: Number(fields[19]) };
}

export function processRef(pid: number): ProcessRef | undefined {
  const stat = readStat(pid);
  return stat && { pid, startTime: stat.startTime };
}

/** True while the very process of `ref` runs; a zombie has finished, it only waits for its parent to reap it. */
export function isRunning(ref: ProcessRef): boolean {
  const stat = readStat(ref.pid);
  return stat !== undefined && stat.startTime === ref.startTime && stat.state !== "Z" && stat.state !== "X";
}

/** Children of `pid` as the kernel lists them. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * Starts a process in its own session with output to `logFile`, so it neither dies with our terminal's
 * Ctrl-C nor keeps this process alive: the bed stops it by PID.
 */
export function startDetached(command: string, args: string[], logFile: string, cwd?: string): ProcessRef {
  const log = openSync(logFile, "a");
  try {
    const child = spawn(command, args, { cwd, detached: true, stdio: ["ignore", log, log] });
    child.on("error", () => undefined);
    child.unref();
    const ref = child.pid === undefined ? undefined : processRef(child.pid);
    if (!ref) throw new Error(`${command} did not start; see ${logFile}`);
    return ref;
  } finally {
    closeSync(log);
  }
}

export function signalAll(refs: ProcessRef[], signal: NodeJS.Signals): void {
  for (const ref of refs) {
    if (!isRunning(ref)) continue;
    try {
      process.kill(ref.pid, signal);
    } catch {
      // It ended between the check and the signal.
    }
  }
}

/** Waits up to `timeoutMs` for all of `refs` to end; returns those still running. Blocking, so exit handlers can use it. */
export function waitGone(refs: ProcessRef[], timeoutMs: number): ProcessRef[] {
  const deadline = Date.now() + timeoutMs;
  let running = refs.filter(isRunning);
  while (running.length > 0 && Date.now() < deadline) {
    sleepSync(100);
    running = running.filter(isRunning);
  }
  return running;
}

/** SIGTERM, then SIGKILL for whatever still runs after `graceMs`. */
export function terminate(refs: ProcessRef[], graceMs: number): void {
  signalAll(refs, "SIGTERM");
  const stubborn = waitGone(refs, graceMs);
  signalAll(stubborn, "SIGKILL");
  waitGone(stubborn, 5_000);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
