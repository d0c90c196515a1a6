import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LoadedStack, parseStackFile } from "../config/stack";
import { closest } from "../config/suggest";
import { KubeplugConfigError } from "../errors";

/** Where a project keeps its stack files (Pulumi.yaml sets `stackConfigDir: stacks`). */
export const STACKS_DIR = "stacks";

/** The stacks a project has: `NAME` for every `stacks/Pulumi.NAME.yaml`, sorted. */
export function stackNames(projectDir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(join(projectDir, STACKS_DIR));
  } catch {
    return [];
  }
  return files.flatMap((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1] ?? []).sort();
}

/** Says which stacks exist, with the likely one first when the name looks like a typo. */
function unknownStackMessage(stack: string, projectDir: string): string {
  const known = stackNames(projectDir);
  if (known.length === 0) return `no such stack file, and ${join(projectDir, STACKS_DIR)} holds no Pulumi.<stack>.yaml at all`;
  const suggestion = closest(stack, known);
  return `no such stack file${suggestion ? `; did you mean "${suggestion}"? Stacks` : "; stacks"} in ${STACKS_DIR}/: ${known.join(", ")}`;
}

/** Reads `stacks/Pulumi.<stack>.yaml` under a project directory and validates it. */
export function loadStack(projectDir: string, stack: string): LoadedStack {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
    throw new KubeplugConfigError([{ path: "--stack", message: `"${stack}" is not a stack name` }]);
  }
  const file = join(STACKS_DIR, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(join(projectDir, file), "utf8");
  } catch {
    throw new KubeplugConfigError([{ path: file, message: unknownStackMessage(stack, projectDir) }]);
  }
  return parseStackFile(stack, text, file);
}
