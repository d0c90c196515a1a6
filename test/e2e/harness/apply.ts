import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApplyInput, ApplyReport } from "./report";

const ROOT = join(__dirname, "..", "..", "..");

/**
 * One "apply": a fresh process runs the program under mocks and executes its commands over SSH, as a
 * `pulumi up` would start fresh (see apply-child.ts: a test harness, not a Pulumi engine).
 */
export function applyStack(input: ApplyInput): Promise<ApplyReport & { wallMs: number }> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "kubeplug-apply-"));
  const reportFile = join(dir, "report.json");
  return new Promise<ApplyReport & { wallMs: number }>((resolve, reject) => {
    const child = spawn(join(ROOT, "node_modules", ".bin", "tsx"), [join(__dirname, "apply-child.ts")], {
      cwd: ROOT,
      env: { ...process.env, KUBEPLUG_HARNESS_INPUT: JSON.stringify(input), KUBEPLUG_HARNESS_REPORT: reportFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout!.on("data", (c: Buffer) => (log += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
    child.on("close", (code) => {
      if (!existsSync(reportFile)) return reject(new Error(`harness exited with ${code} and no report:\n${log}`));
      resolve({ ...(JSON.parse(readFileSync(reportFile, "utf8")) as ApplyReport), wallMs: Date.now() - started });
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
