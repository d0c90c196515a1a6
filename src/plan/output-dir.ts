import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, rmdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { sha256 } from "../util/hash";
import { OutputFile } from "./render-tree";

const STATE_FILE = ".kubeplug-render.json";

export type FileChange = "added" | "changed" | "removed" | "unchanged";

export interface OutputDiff {
  /** False when the directory held no earlier render to compare with. */
  readonly hadPrevious: boolean;
  readonly changes: ReadonlyMap<string, FileChange>;
}

interface RenderState {
  readonly format: 1;
  readonly files: Record<string, string>;
}

function readState(dir: string): RenderState | undefined {
  try {
    const state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")) as RenderState;
    return state.format === 1 ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Compares a tree with the last render in `dir` without writing anything. */
export function diffOutput(dir: string, tree: ReadonlyMap<string, OutputFile>): OutputDiff {
  const previous = readState(dir)?.files;
  const changes = new Map<string, FileChange>();
  for (const [path, file] of tree) {
    const before = previous?.[path];
    changes.set(path, before === undefined ? "added" : before === sha256(file.content) ? "unchanged" : "changed");
  }
  for (const path of Object.keys(previous ?? {})) if (!tree.has(path)) changes.set(path, "removed");
  return { hadPrevious: previous !== undefined, changes };
}

/** Writes a tree into `dir`, removing files of the previous render that are gone; returns the diff. */
export function writeOutput(dir: string, tree: ReadonlyMap<string, OutputFile>): OutputDiff {
  const diff = diffOutput(dir, tree);
  mkdirSync(dir, { recursive: true });
  for (const [path, change] of diff.changes) {
    const target = join(dir, path);
    if (change === "removed") {
      rmSync(target, { force: true });
      pruneEmptyDirs(dirname(target), dir);
      continue;
    }
    const file = tree.get(path)!;
    if (change === "unchanged" && existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    chmodSync(target, file.executable ? 0o755 : 0o644);
  }
  const files: Record<string, string> = {};
  for (const path of [...tree.keys()].sort()) files[path] = sha256(tree.get(path)!.content);
  writeFileSync(join(dir, STATE_FILE), JSON.stringify({ format: 1, files } satisfies RenderState, null, 1) + "\n");
  return diff;
}

function pruneEmptyDirs(from: string, root: string): void {
  let dir = from;
  while (dir.startsWith(root) && dir !== root && existsSync(dir) && readdirSync(dir).length === 0) {
    rmdirSync(dir);
    dir = dirname(dir);
  }
}
