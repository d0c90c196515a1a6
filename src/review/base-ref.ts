import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A render of the stack as it was at a git ref, in a temp dir the caller removes with `remove()`. */
export interface BaseRender {
  /** The render's output directory; it holds no render when the stack did not exist at the ref. */
  readonly dir: string;
  /** For the review: `origin/main (a1b2c3d4e5f6)`, and whether the stack existed there. */
  readonly label: string;
  remove(): void;
}

/**
 * Renders `stack` as it was at `ref`, with that tree's own code: `git archive` of the commit into a
 * temp dir (the repository and its worktrees stay as they are), node_modules linked to this
 * checkout's, then that tree's `src/cli/render.ts`. The stack may not exist there yet: then the base
 * is empty and every file of the render is new.
 */
export function renderAtRef(projectDir: string, ref: string, stack: string): BaseRender {
  const commit = git(projectDir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], `--base-ref ${ref}: no such commit in ${projectDir}`).trim();
  const root = mkdtempSync(join(tmpdir(), "kubeplug-base-"));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    const tree = join(root, "tree");
    const out = join(root, "render");
    mkdirSync(tree);
    const archive = spawnSync("git", ["-C", projectDir, "archive", "--format=tar", commit], { maxBuffer: 1 << 30 });
    if (archive.status !== 0) throw new BaseRefError(`--base-ref ${ref}: git archive failed: ${archive.stderr.toString().trim()}`);
    execFileSync("tar", ["-x", "-C", tree], { input: archive.stdout });
    const label = `\`${ref}\` (${commit.slice(0, 12)})`;
    if (!existsSync(join(tree, "stacks", `Pulumi.${stack}.yaml`))) {
      mkdirSync(out);
      return { dir: out, label: `${label}, where stack ${stack} does not exist yet`, remove };
    }
    symlinkSync(join(projectDir, "node_modules"), join(tree, "node_modules"), "dir");
    const render = spawnSync(process.execPath, [join(tree, "node_modules", "tsx", "dist", "cli.mjs"), join("src", "cli", "render.ts"), "--stack", stack, "--out", out], {
      cwd: tree,
      encoding: "utf8",
      maxBuffer: 1 << 30,
    });
    if (render.status !== 0) throw new BaseRefError(`--base-ref ${ref}: rendering stack ${stack} at ${commit.slice(0, 12)} failed (exit ${render.status}):\n${(render.stderr || render.stdout).trim()}`);
    return { dir: out, label, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

function git(cwd: string, args: readonly string[], failure: string): string {
  const result = spawnSync("git", ["-C", cwd, ...args], { encoding: "utf8" });
  if (result.status !== 0) throw new BaseRefError(failure);
  return result.stdout;
}

/** A ref that cannot be rendered: said in one line, not as a stack trace. */
export class BaseRefError extends Error {}
