import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { KubeplugConfigError } from "../errors";
import { closest } from "../config/suggest";
import { nodeDrift } from "../drift/compare";
import { expectedState } from "../drift/expected";
import { DriftReport, exitCode, Format, FORMATS, formatReport } from "../drift/format";
import { probeScript } from "../drift/probe";
import { knownHostsLines, mapLimit, outcomeOf, probeCommand, runSsh, sshArgs } from "../drift/ssh";
import { planCluster } from "../plan/cluster-plan";
import { LocalEnvironment, localEnvironment, preflight, requirePreflight } from "../plan/preflight";
import { loadStack } from "../plan/stack-files";

const USAGE = `usage: npm run drift -- --stack NAME [--node NAME] [--format text|json|markdown]

Compares every node of stacks/Pulumi.NAME.yaml with what the render says it should have: the
bytes, mode and owner of each file kubeplug owns, pinned package and daemon versions, units active
and enabled, restarts pending. One read-only SSH session per node; nothing on a node changes.
Exit 0: every node clean; 2: a node drifted; 3: none drifted, but a node could not be checked.
`;

/** SSH sessions at once: enough to hide dial latency, few enough for a bastion's MaxStartups (10). */
const PARALLEL = 8;

export interface DriftOutput {
  write(text: string): void;
}

export async function main(argv: readonly string[], projectDir = process.cwd(), local: LocalEnvironment = localEnvironment(projectDir), out: DriftOutput = process.stdout, err: DriftOutput = process.stderr): Promise<number> {
  const parsed = parseCliArgs(argv);
  if ("usage" in parsed) {
    (parsed.code === 0 ? out : err).write(parsed.usage);
    return parsed.code;
  }
  try {
    const report = await checkDrift(parsed, projectDir, local);
    out.write(formatReport(report, parsed.format));
    return exitCode(report);
  } catch (error) {
    if (error instanceof KubeplugConfigError) {
      err.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

export interface DriftArgs {
  readonly stack: string;
  readonly node?: string;
  readonly format: Format;
}

/** The arguments, or the text to print and the exit code (64 for a usage error). */
export function parseCliArgs(argv: readonly string[]): DriftArgs | { usage: string; code: number } {
  let values;
  try {
    values = parseArgs({ args: [...argv], options: { stack: { type: "string" }, node: { type: "string" }, format: { type: "string", default: "text" }, help: { type: "boolean", default: false } }, strict: true }).values;
  } catch (error) {
    return { usage: `${(error as Error).message}\n${USAGE}`, code: 64 };
  }
  if (values.help) return { usage: USAGE, code: 0 };
  if (!values.stack) return { usage: `--stack is required\n${USAGE}`, code: 64 };
  const format = values.format!;
  if (!isFormat(format)) return { usage: `--format ${JSON.stringify(format)} is not a format; use one of ${FORMATS.join(", ")}\n${USAGE}`, code: 64 };
  return { stack: values.stack, format, ...(values.node ? { node: values.node } : {}) };
}

const isFormat = (value: string): value is Format => (FORMATS as readonly string[]).includes(value);

/** Plans the stack as the render does, probes the nodes (PARALLEL at a time) and compares. */
export async function checkDrift(args: Pick<DriftArgs, "stack" | "node">, projectDir: string, local: LocalEnvironment): Promise<DriftReport> {
  const loaded = loadStack(projectDir, args.stack);
  // Unlike the render, the check connects: a missing key file or known_hosts entry stops it here.
  const facts = requirePreflight(preflight(loaded.config, local));
  const expected = expectedState(loaded.config, planCluster(loaded.config, facts));
  if (args.node && !expected.some((n) => n.node === args.node)) {
    const names = expected.map((n) => n.node);
    const suggestion = closest(args.node, names);
    throw new KubeplugConfigError([{ path: "--node", message: `no node named "${args.node}" in stack ${args.stack}${suggestion ? `; did you mean "${suggestion}"?` : ""} Nodes: ${names.join(", ")}` }]);
  }
  const selected = args.node ? expected.filter((n) => n.node === args.node) : expected;
  const dir = mkdtempSync(join(tmpdir(), "kubeplug-drift-"));
  try {
    const nodes = await mapLimit(selected, PARALLEL, async (node) => {
      const knownHosts = join(dir, `${node.node}.known_hosts`);
      writeFileSync(knownHosts, knownHostsLines(node.connection).map((l) => `${l}\n`).join(""), { mode: 0o600 });
      const result = await runSsh(sshArgs(node.connection, knownHosts, local, probeCommand(node.connection)), probeScript(node));
      return nodeDrift(node, outcomeOf(result), result.ms);
    });
    return { stack: args.stack, nodes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
