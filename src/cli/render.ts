import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { KubeplugConfigError } from "../errors";
import { loadStack } from "../config/stack";
import { planCluster } from "../plan/cluster-plan";
import { formatPlan } from "../plan/format";
import { diffOutput, writeOutput } from "../plan/output-dir";
import { planToTree } from "../plan/render-tree";

const USAGE = `usage: npm run render -- --stack NAME [--out DIR] [--node NAME] [--check]

Validates stacks/Pulumi.NAME.yaml, writes every node's step scripts and files under DIR
(default out/NAME), and prints the plan: per node and step, what changes since the last render in DIR.
  --node NAME   print the plan of one node only (all nodes are still written)
  --check       write nothing; exit 2 if the render differs from DIR (for CI)
`;

export function main(argv: readonly string[], projectDir = process.cwd()): number {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        stack: { type: "string" },
        out: { type: "string" },
        node: { type: "string" },
        check: { type: "boolean", default: false },
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
  try {
    const loaded = loadStack(projectDir, args.stack);
    const plan = planCluster(loaded.config);
    if (args.node && !plan.nodes.some((n) => n.node.name === args.node)) {
      process.stderr.write(`no node named "${args.node}" in stack ${args.stack}\n`);
      return 64;
    }
    const outDir = resolve(projectDir, args.out ?? `out/${args.stack}`);
    const tree = planToTree(plan);
    const diff = args.check ? diffOutput(outDir, tree) : writeOutput(outDir, tree);
    const shown = args.out ?? `out/${args.stack}`;
    const text = formatPlan(plan, diff, loaded.warnings, shown, args.node);
    process.stdout.write(text.text);
    if (args.check) {
      const differs = [...diff.changes.values()].some((c) => c !== "unchanged");
      return differs ? 2 : 0;
    }
    return 0;
  } catch (error) {
    if (error instanceof KubeplugConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
