import { statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { KubeplugConfigError } from "../errors";
import { closest } from "../config/suggest";
import { planCluster } from "../plan/cluster-plan";
import { formatPlan } from "../plan/format";
import { diffOutput, writeOutput } from "../plan/output-dir";
import { localEnvironment, preflight } from "../plan/preflight";
import { planToTree } from "../plan/render-tree";
import { loadStack } from "../plan/stack-files";

const USAGE = `usage: npm run render -- --stack NAME [--out DIR] [--node NAME] [--check] [--skip-local-checks]

Validates stacks/Pulumi.NAME.yaml, writes every node's step scripts and files under DIR
(default out/NAME), and prints the plan: per node and step, what changes since the last render in DIR.
  --node NAME           print the plan of one node only (all nodes are still written)
  --check               write nothing; exit 2 if the render differs from DIR (for CI)
  --skip-local-checks   do not check what pulumi up needs from this machine (key files, the SSH agent,
                        environment secrets, known_hosts files), e.g. in CI, which has none of them
`;

export function main(argv: readonly string[], projectDir = process.cwd(), local = localEnvironment(projectDir)): number {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        stack: { type: "string" },
        out: { type: "string" },
        node: { type: "string" },
        check: { type: "boolean", default: false },
        "skip-local-checks": { type: "boolean", default: false },
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
  const shown = args.out ?? `out/${args.stack}`;
  const outDir = resolve(projectDir, shown);
  if (isNonDirectory(outDir)) {
    process.stderr.write(`--out ${shown}: that is a file, not a directory; name a directory (it is created when missing)\n`);
    return 64;
  }
  try {
    const loaded = loadStack(projectDir, args.stack);
    let facts;
    if (!args["skip-local-checks"]) {
      try {
        facts = preflight(loaded.config, local);
      } catch (error) {
        if (!(error instanceof KubeplugConfigError)) throw error;
        process.stderr.write(`${error.message}
(these check this machine for pulumi up; --skip-local-checks renders without them)
`);
        return 1;
      }
    }
    const plan = planCluster(loaded.config, facts);
    if (args.node && !plan.nodes.some((n) => n.node.name === args.node)) {
      process.stderr.write(`${unknownNodeMessage(args.node, args.stack, plan.nodes.map((n) => n.node.name))}\n`);
      return 64;
    }
    const tree = planToTree(plan);
    let diff;
    try {
      diff = args.check ? diffOutput(outDir, tree) : writeOutput(outDir, tree);
    } catch (error) {
      process.stderr.write(`cannot write the render to ${shown}: ${(error as Error).message}\n`);
      return 1;
    }
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
