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
  /** Each file's sha256. */
  readonly files: Record<string, string>;
  /** The fingerprint of each file that had one when its hash was taken: the same one again means the same hash. */
  readonly fingerprints?: Record<string, string>;
}

function readState(dir: string): RenderState | undefined {
  try {
    const state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")) as RenderState;
    return state.format === 1 ? state : undefined;
  } catch {
    return undefined;
  }
}

/** The files of a render, by path: a whole tree, or plannerFiles one node at a time. */
export type OutputFiles = Iterable<readonly [string, OutputFile]>;

/** Compares a render with the last one in `dir` without writing anything. */
export function diffOutput(dir: string, files: OutputFiles): OutputDiff {
  return compare(dir, files).diff;
}

/**
 * Compares each file with the last render in `dir` as it comes, so a caller can write it and let it
 * go before the next; returns the diff and each file's hash for the next render's state.
 */
function compare(dir: string, files: OutputFiles, visit?: (path: string, file: OutputFile, change: FileChange) => void): { diff: OutputDiff; hashes: Map<string, string> } {
  const state = readState(dir);
  const previous = state?.files;
  const changes = new Map<string, FileChange>();
  const hashes = new Map<string, string>();
  for (const [path, file] of files) {
    const before = previous?.[path];
    const hash = before !== undefined && file.fingerprint !== undefined && state?.fingerprints?.[path] === file.fingerprint ? before : sha256(file.content);
    const change = before === undefined ? "added" : before === hash ? "unchanged" : "changed";
    changes.set(path, change);
    hashes.set(path, hash);
    visit?.(path, file, change);
  }
  for (const path of Object.keys(previous ?? {})) if (!hashes.has(path)) changes.set(path, "removed");
  return { diff: { hadPrevious: previous !== undefined, changes }, hashes };
}

/**
 * Compares two renders by their state files, without reading a file: `base` (an earlier render's
 * directory) against `head`. A base without a state file is no render, and every head file is added.
 */
export function diffRenders(baseDir: string, headDir: string): OutputDiff {
  const base = readState(baseDir)?.files;
  const head = readState(headDir)?.files;
  if (!head) throw new Error(`${headDir} holds no render (no ${STATE_FILE})`);
  const changes = new Map<string, FileChange>();
  for (const [path, hash] of Object.entries(head)) changes.set(path, base?.[path] === undefined ? "added" : base[path] === hash ? "unchanged" : "changed");
  for (const path of Object.keys(base ?? {})) if (!(path in head)) changes.set(path, "removed");
  return { hadPrevious: base !== undefined, changes };
}

/**
 * Writes a render into `dir`, removing files of the previous render that are gone; returns the diff.
 * `keep` sees the previous content of each file it changes or removes, before it is gone.
 */
export function writeOutput(dir: string, files: OutputFiles, keep?: (path: string, previous: string) => void): OutputDiff {
  mkdirSync(dir, { recursive: true });
  const made = new Set<string>();
  const fingerprints: Record<string, string> = {};
  const { diff, hashes } = compare(dir, files, (path, file, change) => {
    if (file.fingerprint !== undefined) fingerprints[path] = file.fingerprint;
    const target = join(dir, path);
    if (change === "unchanged" && existsSync(target)) return;
    if (change === "changed" && keep) keepPrevious(target, path, keep);
    const parent = dirname(target);
    if (!made.has(parent)) mkdirSync(parent, { recursive: true });
    made.add(parent);
    writeFileSync(target, file.content);
    chmodSync(target, file.executable ? 0o755 : 0o644);
  });
  for (const [path, change] of diff.changes) {
    if (change !== "removed") continue;
    const target = join(dir, path);
    if (keep) keepPrevious(target, path, keep);
    rmSync(target, { force: true });
    pruneEmptyDirs(dirname(target), dir);
  }
  const state = sorted(Object.fromEntries(hashes));
  writeFileSync(join(dir, STATE_FILE), JSON.stringify({ format: 1, files: state, fingerprints: sorted(fingerprints) } satisfies RenderState, null, 1) + "\n");
  return diff;
}

/** A file deleted by hand since the last render has no previous content to keep. */
function keepPrevious(target: string, path: string, keep: (path: string, previous: string) => void): void {
  if (existsSync(target)) keep(path, readFileSync(target, "utf8"));
}

/** The same record with its keys in order, so the state file does not change with the order files came in. */
function sorted(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function pruneEmptyDirs(from: string, root: string): void {
  let dir = from;
  while (dir.startsWith(root) && dir !== root && existsSync(dir) && readdirSync(dir).length === 0) {
    rmdirSync(dir);
    dir = dirname(dir);
  }
}
