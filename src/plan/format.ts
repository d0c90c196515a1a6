import { ConfigWarning, formatProblem } from "../errors";
import { ClusterPlan } from "./cluster-plan";
import { FileChange, OutputDiff } from "./output-dir";
import { CNI_PROVIDER_FILE, RUNTIME_CLASSES_FILE, stepFileName, stepOutputPaths } from "./render-tree";

const MARK: Record<FileChange, string> = { added: "+", changed: "~", removed: "-", unchanged: " " };

export interface PlanText {
  readonly text: string;
  readonly changedSteps: number;
  readonly totalSteps: number;
}

/**
 * The plan a reviewer reads: per pool, per node, per step, whether it changes compared with the
 * previous render and which node files change.
 */
export function formatPlan(plan: ClusterPlan, diff: OutputDiff, warnings: readonly ConfigWarning[], outDir: string, onlyNode?: string): PlanText {
  const lines: string[] = [];
  let changedSteps = 0;
  let totalSteps = 0;
  const nodes = plan.nodes.filter((n) => !onlyNode || n.node.name === onlyNode);
  const stepCount = nodes.reduce((sum, n) => sum + n.steps.length, 0);
  lines.push(`kubeplug render: stack ${plan.stack} -> ${outDir}`);
  lines.push(`  ${nodes.length} node(s) in ${plan.pools.length} pool(s), ${stepCount} node step(s)`);
  for (const pool of plan.pools) {
    const poolNodes = nodes.filter((n) => n.pool.name === pool.name);
    if (poolNodes.length === 0) continue;
    lines.push("", `pool ${pool.name}: ${pool.description}, endpoint ${pool.runtimeEndpoint}, config ${pool.configHash.slice(0, 12)}`);
    for (const node of poolNodes) {
      lines.push(`  node ${node.node.name} (${node.node.address}, ${node.node.arch})`);
      node.steps.forEach((step, i) => {
        totalSteps++;
        const paths = stepOutputPaths(node, i, step);
        const scriptChange = diff.changes.get(paths[0]!) ?? "added";
        const status = !diff.hadPrevious ? "new" : scriptChange === "unchanged" ? "unchanged" : scriptChange === "added" ? "new" : "changed";
        if (status !== "unchanged") changedSteps++;
        lines.push(`    ${stepFileName(i, step).padEnd(26)} ${step.phase.padEnd(9)} ${status.padEnd(9)} ${step.summary}`);
        const prefix = `nodes/${node.node.name}/files`;
        for (const path of paths.slice(1)) {
          const change = diff.changes.get(path) ?? "added";
          if (diff.hadPrevious && change !== "unchanged" && path.startsWith(prefix)) lines.push(`        ${MARK[change]} ${path.slice(prefix.length)}`);
        }
        const removedPrefix = `${prefix}/`;
        for (const [path, change] of diff.changes) {
          if (change === "removed" && path.startsWith(removedPrefix) && i === node.steps.length - 1) lines.push(`        - ${path.slice(prefix.length)}`);
        }
        if (step.secret) lines.push(`        stdin: ${step.secret.description} (secret, not rendered)`);
      });
    }
  }
  if (plan.runtimeClasses.length > 0 && !onlyNode) {
    const change = diff.changes.get(RUNTIME_CLASSES_FILE) ?? "added";
    const status = !diff.hadPrevious || change === "added" ? "new" : change === "unchanged" ? "unchanged" : "changed";
    lines.push("", `cluster manifests: ${RUNTIME_CLASSES_FILE} (${status})`);
    for (const rc of plan.runtimeClasses) {
      const selector = rc.nodeSelector ? Object.entries(rc.nodeSelector).map(([k, v]) => `${k}=${v}`).join(",") : "all nodes";
      const overhead = rc.overhead ? `, overhead ${[rc.overhead.cpu, rc.overhead.memory].filter(Boolean).join("/")}` : "";
      lines.push(`  RuntimeClass ${rc.name.padEnd(16)} handler ${rc.handler}, nodes ${selector} (${rc.nodes.length})${overhead}`);
    }
  }
  if (plan.cniProvider && !onlyNode) {
    const { settings, release } = plan.cniProvider;
    const change = diff.changes.get(CNI_PROVIDER_FILE) ?? "added";
    const status = !diff.hadPrevious || change === "added" ? "new" : change === "unchanged" ? "unchanged" : "changed";
    lines.push(
      "",
      `cni provider: ${settings.kind}, chart ${release.chart.chart} ${release.chart.version} from ${release.chart.repo} in ${release.namespace} (${status}; ${CNI_PROVIDER_FILE})`,
      `  writes ${release.conflistName} on every node; kubeplug writes no conflist and leaves ${release.binaries.join(", ")} to it`,
    );
  }
  if (warnings.length > 0) {
    lines.push("", "warnings:");
    for (const warning of warnings) lines.push(`  ${formatProblem(warning)}`);
  }
  const compared = diff.hadPrevious ? "compared with the previous render" : "first render in this directory";
  const summary =
    changedSteps === 0 && diff.hadPrevious
      ? `no changes: ${totalSteps} step(s) unchanged (${compared})`
      : `${changedSteps} of ${totalSteps} step(s) new or changed (${compared})`;
  lines.push("", summary);
  return { text: lines.join("\n") + "\n", changedSteps, totalSteps };
}
