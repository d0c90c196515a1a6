import { execFileSync } from "node:child_process";

/** Whether a command is on PATH; real tests skip with a reason when one is missing. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Undefined when everything needed is present, else why the suite is skipped. */
export function missingTools(tools: readonly string[], needsRoot = false): string | undefined {
  const missing = tools.filter((t) => !hasCommand(t));
  if (needsRoot && !isRoot) missing.unshift("root");
  return missing.length > 0 ? `needs ${missing.join(", ")} (bash .ci/run installs them)` : undefined;
}
