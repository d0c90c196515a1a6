import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { processRef, waitGone } from "./processes";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  cwd?: string;
  /** The child's whole environment; default: this process's. */
  env?: NodeJS.ProcessEnv;
}

const running = new Set<ChildProcess>();

/** Runs a command to completion without a shell; a non-zero exit is a result, not an error. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["pipe", "pipe", "pipe"] });
    running.add(child);
    child.on("exit", () => running.delete(child));
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    // A signal death gets the shell's 128+n code so callers only look at one number.
    child.on("close", (code, signal) => resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout, stderr }));
    // The command may exit before reading its input (ssh to a dead node): that is its result, not ours to fail on.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** Like `run`, but a non-zero exit throws with the command and the end of its output. */
export async function check(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`${[command, ...args].join(" ")} exited with ${result.code}\n${tail(result.stderr || result.stdout)}`);
  return result.stdout;
}

/** The last lines of a log or output, enough to explain a failure in an error message. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Kills the commands `run` still waits for, and waits until they have ended: a bed interrupted while
 * building must not have tar writing into the directory its cleanup deletes.
 */
export function killCommands(): void {
  const refs = [...running].flatMap((child) => {
    const ref = child.pid === undefined ? undefined : processRef(child.pid);
    child.kill("SIGKILL");
    return ref ? [ref] : [];
  });
  waitGone(refs, 5_000);
}
