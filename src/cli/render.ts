import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigProblem, formatProblem, KubeplugConfigError } from "../errors";
import { closest } from "../config/suggest";
import { clusterPlanner } from "../plan/cluster-plan";
import { formatPlan } from "../plan/format";
import { diffOutput, diffRenders, OutputDiff, writeOutput } from "../plan/output-dir";
import { localEnvironment, preflight } from "../plan/preflight";
import { NodeOutline, nodeOutline, plannerFiles } from "../plan/render-tree";
import { loadStack } from "../plan/stack-files";
import { BaseRefError, renderAtRef } from "../review/base-ref";
import { formatMarkdown } from "../review/markdown";
import { buildReview } from "../review/model";

const USAGE = `usage: npm run render -- --stack NAME [--out DIR] [--node NAME] [--check]
                          [--format text|markdown|json] [--base DIR | --base-ref REF]

Validates stacks/Pulumi.NAME.yaml, writes every node's step scripts and files under DIR
(default out/NAME), and prints the plan: per node and step, what changes since the last render in DIR.
Last, it lists what would stop pulumi up on this machine (key files, the SSH agent, environment
secrets, known_hosts files); the render itself does not need them.
  --node NAME   print the plan of one node only (all nodes are still written)
  --check       write nothing; exit 2 if the render differs from DIR (for CI)
  --format      text (default); markdown (a PR comment under GitHub's 65,536-character limit) or
                json: per node the steps and the unified diff of every changed file, nodes with the
                same change as one entry, restarts, reloads, drains and swap waves; never a secret
  --base DIR    compare with the render in DIR (an earlier --out) instead of the last one in --out
  --base-ref REF  compare with the stack as it was at git ref REF, rendered by that tree's own code
`;

const FORMATS = ["text", "markdown", "json"] as const;
type Format = (typeof FORMATS)[number];

export function main(argv: readonly string[], projectDir = process.cwd(), localMachine = localEnvironment(projectDir)): number {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        stack: { type: "string" },
        out: { type: "string" },
        node: { type: "string" },
        check: { type: "boolean", default: false },
        format: { type: "string", default: "text" },
        base: { type: "string" },
        "base-ref": { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 64;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!args.stack) {
    process.stderr.write(`--stack is required\n${USAGE}`);
    return 64;
  }
  const format = args.format as Format;
  if (!FORMATS.includes(format)) {
    process.stderr.write(`--format ${args.format}: expected one of ${FORMATS.join(", ")}\n${USAGE}`);
    return 64;
  }
  if (args.base && args["base-ref"]) {
    process.stderr.write(`--base and --base-ref name two bases; give one\n${USAGE}`);
    return 64;
  }
  if (args.check && (format !== "text" || args.base || args["base-ref"])) {
    process.stderr.write(`--check compares with --out only and prints text; it takes no --format, --base or --base-ref\n${USAGE}`);
    return 64;
  }
  const shown = args.out ?? `out/${args.stack}`;
  const outDir = resolve(projectDir, shown);
  if (isNonDirectory(outDir)) {
    process.stderr.write(`--out ${shown}: that is a file, not a directory; name a directory (it is created when missing)\n`);
    return 64;
  }
  try {
    const loaded = loadStack(projectDir, args.stack);
    const local = preflight(loaded.config, localMachine);
    const planner = clusterPlanner(loaded.config, local);
    const names = loaded.config.cluster.nodes.map((n) => n.name);
    if (args.node && !names.includes(args.node)) {
      process.stderr.write(`${unknownNodeMessage(args.node, args.stack, names)}\n`);
      return 64;
    }
    // Each node's files are written as it is rendered; only its outline stays for the plan text.
    const outlines: NodeOutline[] = [];
    const files = plannerFiles(planner, (node) => outlines.push(nodeOutline(node)));
    // Without a base, the review compares with the last render in --out: keep what it overwrites.
    const previous = new Map<string, string>();
    const keep = format !== "text" && !args.base && !args["base-ref"] ? (path: string, content: string) => previous.set(path, content) : undefined;
    let diff: OutputDiff;
    try {
      diff = args.check ? diffOutput(outDir, files) : writeOutput(outDir, files, keep);
    } catch (error) {
      // A step that cannot be rendered is not a write failure: only the file system's errors carry a code.
      if (!(error as NodeJS.ErrnoException).code) throw error;
      process.stderr.write(`cannot write the render to ${shown}: ${(error as Error).message}\n`);
      return 1;
    }
    const plan = { ...planner.cluster, nodes: outlines };
    let base = { label: `the previous render in ${shown}`, before: (path: string) => previous.get(path), remove: () => {} };
    if (args.base || args["base-ref"]) {
      const at = args.base ? { dir: resolve(projectDir, args.base), label: `the render in \`${args.base}\``, remove: () => {} } : renderAtRef(projectDir, args["base-ref"]!, args.stack);
      diff = diffRenders(at.dir, outDir);
      base = { label: at.label, before: (path) => readText(join(at.dir, path)), remove: at.remove };
    }
    try {
      if (format === "text") {
        process.stdout.write(formatPlan(plan, diff, loaded.warnings, shown, args.node).text + localProblems(local.problems));
      } else {
        const review = buildReview({ plan, diff, ...(args.node ? { onlyNode: args.node } : {}), before: base.before, after: (path) => readText(join(outDir, path)), base: base.label, renderDir: shown, warnings: loaded.warnings });
        process.stdout.write(format === "json" ? `${JSON.stringify(review, null, 2)}\n` : formatMarkdown(review));
      }
    } finally {
      base.remove();
    }
    if (args.check) {
      const differs = [...diff.changes.values()].some((c) => c !== "unchanged");
      return differs ? 2 : 0;
    }
    return 0;
  } catch (error) {
    if (error instanceof KubeplugConfigError || error instanceof BaseRefError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The render is complete without these; pulumi up on this machine is not, so they come last, where they are read. */
function localProblems(problems: readonly ConfigProblem[]): string {
  if (problems.length === 0) return "";
  return `\npulumi up on this machine would stop at (${problems.length}):\n${problems.map((p) => `  ${formatProblem(p)}\n`).join("")}`;
}

function isNonDirectory(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function unknownNodeMessage(node: string, stack: string, known: readonly string[]): string {
  const suggestion = closest(node, known);
  return `no node named "${node}" in stack ${stack}${suggestion ? `; did you mean "${suggestion}"? Nodes` : "; nodes"}: ${known.join(", ")}`;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
