import { spawn } from "node:child_process";
import { join } from "node:path";
import { ApplyInput, ApplyReport } from "./report";

const ROOT = join(__dirname, "..", "..", "..");

/**
 * One "apply": a fresh process runs the program under mocks and executes its commands over SSH, as a
 * `pulumi up` would start fresh (see apply-child.ts: a test harness, not a Pulumi engine).
 */
export function applyStack(input: ApplyInput): Promise<ApplyReport & { wallMs: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, "node_modules", ".bin", "tsx"), [join(__dirname, "apply-child.ts")], {
      cwd: ROOT,
      env: { ...process.env, KUBEPLUG_HARNESS_INPUT: JSON.stringify(input) },
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    let report = "";
    let log = "";
    child.stdout!.on("data", (c: Buffer) => (log += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (c: Buffer) => (report += c.toString()));
    child.on("close", (code) => {
      if (!report) return reject(new Error(`harness exited with ${code} and no report:\n${log}`));
      resolve({ ...(JSON.parse(report) as ApplyReport), wallMs: Date.now() - started });
    });
  });
}
