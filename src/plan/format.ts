import { ConfigWarning, formatProblem } from "../errors";
import { ClusterPlan } from "./cluster-plan";
import { FileChange, OutputDiff } from "./output-dir";
import { CNI_PROVIDER_FILE, NodeOutline, RUNTIME_CLASSES_FILE, stepFileName, stepOutputPaths } from "./render-tree";
import { StoragePlan } from "./storage-plan";
import { PoolSwapPlan } from "./swap-plan";
import { driverFile, SNAPSHOT_CLASSES_FILE, SNAPSHOTTER_FILE, STORAGE_CLASSES_FILE } from "./storage-tree";

/** A cluster plan as the plan text reads it: every node's outline, none of its scripts. */
export type PlanOutline = Omit<ClusterPlan, "nodes"> & { readonly nodes: readonly NodeOutline[] };

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
export function formatPlan(plan: PlanOutline, diff: OutputDiff, warnings: readonly ConfigWarning[], outDir: string, onlyNode?: string): PlanText {
  const lines: string[] = [];
  let changedSteps = 0;
  let totalSteps = 0;
  const nodes = plan.nodes.filter((n) => !onlyNode || n.node.name === onlyNode);
  const stepCount = nodes.reduce((sum, n) => sum + n.steps.length, 0);
  const removed = removedNodeFiles(diff);
  lines.push(`kubeplug render: stack ${plan.stack} -> ${outDir}`);
  lines.push(`  ${nodes.length} node(s) in ${plan.pools.length} pool(s), ${stepCount} node step(s)`);
  for (const pool of plan.pools) {
    const poolNodes = nodes.filter((n) => n.pool.name === pool.name);
    if (poolNodes.length === 0) continue;
    lines.push("", `pool ${pool.name}: ${pool.description}, endpoint ${pool.runtimeEndpoint}, config ${pool.configHash.slice(0, 12)}`);
    const swap = plan.swaps.find((s) => s.pool === pool.name);
    if (swap) lines.push(...formatSwap(swap));
    for (const node of poolNodes) {
      lines.push(`  node ${node.node.name} (${node.node.address}, ${node.node.arch})`);
      node.steps.forEach((step, i) => {
        totalSteps++;
        const paths = stepOutputPaths(node, i, step);
        const scriptChange = diff.changes.get(paths[0]!) ?? "added";
        // The stdin note changes with the credentials' references, and the step runs again for them.
        const credentialsChanged = step.secret !== undefined && diff.hadPrevious && diff.changes.get(paths[1]!) === "changed";
        const status = !diff.hadPrevious ? "new" : scriptChange === "unchanged" ? (credentialsChanged ? "changed" : "unchanged") : scriptChange === "added" ? "new" : "changed";
        if (status !== "unchanged") changedSteps++;
        lines.push(`    ${stepFileName(i, step).padEnd(26)} ${step.phase.padEnd(9)} ${status.padEnd(9)} ${step.summary}`);
        const prefix = `nodes/${node.node.name}/files`;
        for (const path of paths.slice(1)) {
          const change = diff.changes.get(path) ?? "added";
          if (diff.hadPrevious && change !== "unchanged" && path.startsWith(prefix)) lines.push(`        ${MARK[change]} ${path.slice(prefix.length)}`);
        }
        if (i === node.steps.length - 1) for (const path of removed.get(node.node.name) ?? []) lines.push(`        - ${path.slice(prefix.length)}`);
        if (step.secret) {
          const credentials = credentialsChanged ? "; credentials changed" : "";
          lines.push(`        stdin: ${step.secret.description} (secret, not rendered${credentials})`);
        }
      });
    }
  }
  if (plan.runtimeClasses.length > 0 && !onlyNode) {
    lines.push("", `cluster manifests: ${RUNTIME_CLASSES_FILE} (${fileStatus(diff, RUNTIME_CLASSES_FILE)})`);
    for (const rc of plan.runtimeClasses) {
      const selector = rc.nodeSelector ? Object.entries(rc.nodeSelector).map(([k, v]) => `${k}=${v}`).join(",") : "all nodes";
      const overhead = rc.overhead ? `, overhead ${[rc.overhead.cpu, rc.overhead.memory].filter(Boolean).join("/")}` : "";
      lines.push(`  RuntimeClass ${rc.name.padEnd(16)} handler ${rc.handler}, nodes ${selector} (${rc.nodes.length})${overhead}`);
    }
  }
  if (plan.cniProvider && !onlyNode) {
    const { settings, release } = plan.cniProvider;
    lines.push(
      "",
      `cni provider: ${settings.kind}, chart ${release.chart.chart} ${release.chart.version} from ${release.chart.repo} in ${release.namespace} (${fileStatus(diff, CNI_PROVIDER_FILE)}; ${CNI_PROVIDER_FILE})`,
      `  writes ${release.conflistName} on every node; kubeplug writes no conflist and leaves ${release.binaries.join(", ")} to it`,
    );
  }
  if (!onlyNode) lines.push(...formatStorage(plan.storage, diff));
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

/** Files gone from each node's files/ folder since the previous render, grouped once rather than searched for per step. */
function removedNodeFiles(diff: OutputDiff): Map<string, string[]> {
  const byNode = new Map<string, string[]>();
  for (const [path, change] of diff.changes) {
    const match = change === "removed" ? /^nodes\/([^/]+)\/files\//.exec(path) : null;
    if (!match) continue;
    const paths = byNode.get(match[1]!) ?? [];
    paths.push(path);
    byNode.set(match[1]!, paths);
  }
  return byNode;
}

/** The swap before it runs: old -> new, the waves with their nodes, one node's phases, what stays for a rollback. */
function formatSwap(swap: PoolSwapPlan): string[] {
  const pause = swap.pauseSeconds > 0 ? `, ${swap.pauseSeconds}s pause between waves` : "";
  return [
    `  runtime swap: ${swap.from} (${swap.fromEndpoint}) -> ${swap.to} (${swap.toEndpoint}), ${swap.waves.length} wave(s) of at most ${swap.waveSize} worker(s)${pause}; control-plane nodes last, one at a time`,
    ...swap.waves.map((w) => `    wave ${w.number}${w.controlPlane ? " (control plane)" : ""}: ${w.nodes.join(", ")}`),
    `    phases per node: ${swap.phases.join(" -> ")}`,
    `    a failing step rolls its node back and starts no later wave; kept for rollback:`,
    ...swap.kept.map((k) => `      - ${k}`),
  ];
}

function fileStatus(diff: OutputDiff, path: string): string {
  const change = diff.changes.get(path) ?? "added";
  return !diff.hadPrevious || change === "added" ? "new" : change === "unchanged" ? "unchanged" : "changed";
}

/** Drivers with their pinned source and the nodes that get their prerequisites; classes with parameters and which is the default. */
function formatStorage(storage: StoragePlan, diff: OutputDiff): string[] {
  if (storage.drivers.length === 0) return [];
  const lines = ["", "storage:"];
  for (const d of storage.drivers) {
    const install = d.install;
    const source = install.kind === "helm" ? `chart ${install.chart} ${install.version} from ${install.repo}` : `manifests ${d.entry.upstream.repo}@${d.version}`;
    lines.push(`  driver ${d.id.padEnd(14)} ${d.entry.provisioner}, ${source} in ${d.namespace} (${fileStatus(diff, driverFile(d.id))})`);
    const needs = d.entry.nodePrerequisites;
    const what = [...needs.packages, ...needs.modules.map((m) => `module ${m}`), ...needs.services.map((s) => `service ${s}`)];
    if (what.length > 0) lines.push(`    node prerequisites on ${d.nodes.length} node(s): ${what.join(", ")}`);
  }
  if (storage.snapshotter) lines.push(`  snapshot CRDs and controller ${storage.snapshotter.upstream.tag} (${fileStatus(diff, SNAPSHOTTER_FILE)})`);
  const objects = (kind: string, file: string, planned: StoragePlan["classes"]) => {
    if (planned.length > 0) lines.push(`  ${file} (${fileStatus(diff, file)})`);
    for (const o of planned) {
      const params = Object.entries((o.manifest.parameters as Record<string, string> | undefined) ?? {}).map(([k, v]) => `${k}=${v}`);
      lines.push(`    ${kind} ${o.name} (${o.driver}${o.default ? ", default" : ""})${params.length > 0 ? `: ${params.join(" ")}` : ""}`);
    }
  };
  objects("StorageClass", STORAGE_CLASSES_FILE, storage.classes);
  objects("VolumeSnapshotClass", SNAPSHOT_CLASSES_FILE, storage.snapshotClasses);
  return lines;
}
