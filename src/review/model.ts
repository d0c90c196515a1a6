/**
 * The review of a render against a base render, for people who cannot run Pulumi: per node, the
 * steps that run, the unified diff of every file that changes, what restarts, reloads or drains;
 * nodes whose changes are the same become one entry. Pure: contents come from the caller.
 */
import { formatPatch, structuredPatch } from "diff";
import { daemonEffects } from "../components/runtime/daemon-effects";
import { SWAP_STEPS } from "../components/runtime/runtime-swap";
import { ConfigWarning, formatProblem } from "../errors";
import { PlanOutline } from "../plan/format";
import { FileChange, OutputDiff } from "../plan/output-dir";
import { NodeOutline, stepFileName, stepOutputPaths } from "../plan/render-tree";
import { PoolSwapPlan } from "../plan/swap-plan";

export type Change = Exclude<FileChange, "unchanged">;

export interface FileReview {
  /** Relative to the node (`/etc/containerd/config.toml`, `steps/06-containerd-configure.sh`) or to the render (`cluster/...`). */
  readonly path: string;
  readonly change: Change;
  /** A step's secret payload: only that it changed is shown, never a diff. */
  readonly credentials?: string;
  /** Unified diff, a/ before and b/ after; absent for credentials. */
  readonly diff?: string;
  readonly added: number;
  readonly removed: number;
}

export interface StepReview {
  readonly step: string;
  readonly phase: string;
  readonly change: "new" | "changed" | "removed";
  readonly summary: string;
}

export interface ServiceEffect {
  readonly unit: string;
  readonly action: "start" | "restart" | "reload";
  readonly because: readonly string[];
}

/** What one node's change is, once the node's own name, address and script hashes are left out. */
export interface NodeChange {
  readonly steps: readonly StepReview[];
  readonly files: readonly FileReview[];
  readonly services: readonly ServiceEffect[];
  /** The node is cordoned and drained (a runtime swap's drain step runs). */
  readonly drained: boolean;
}

export interface ReviewEntry {
  readonly nodes: readonly string[];
  readonly pools: readonly string[];
  /** The node whose diffs are shown; the others differ from it only in their name, address and script hashes. */
  readonly shownFor: string;
  readonly change: NodeChange;
}

export interface Review {
  readonly stack: string;
  /** What the render was compared with: a directory, a git ref, or the previous render in the output directory. */
  readonly base: string;
  readonly hadBase: boolean;
  /** The render's output directory, where every file can be read in full. */
  readonly renderDir: string;
  readonly nodes: number;
  readonly changedNodes: number;
  readonly steps: number;
  readonly changedSteps: number;
  readonly entries: readonly ReviewEntry[];
  /** Nodes in the base render and no longer in the stack. */
  readonly removedNodes: readonly string[];
  /** The step library and cluster objects (RuntimeClasses, the CNI provider, storage). */
  readonly cluster: readonly FileReview[];
  /** Swaps of pools that have a changed node, with their waves. */
  readonly swaps: readonly PoolSwapPlan[];
  readonly warnings: readonly string[];
}

export interface ReviewInput {
  readonly plan: PlanOutline;
  readonly diff: OutputDiff;
  /** A file's content in the base render and in this one, by output path; undefined when it has none. */
  readonly before: (path: string) => string | undefined;
  readonly after: (path: string) => string | undefined;
  readonly base: string;
  readonly renderDir: string;
  readonly warnings: readonly ConfigWarning[];
  /** Review this node only: no other node, no cluster file. */
  readonly onlyNode?: string;
}

const STEP_CHANGE: Record<Change, StepReview["change"]> = { added: "new", changed: "changed", removed: "removed" };

export function buildReview(input: ReviewInput): Review {
  const { plan, diff } = input;
  const changed = (path: string): Change | undefined => {
    const change = diff.changes.get(path) ?? "added";
    return change === "unchanged" ? undefined : change;
  };
  const groups = new Map<string, { nodes: string[]; pools: Set<string>; change: NodeChange; shownFor: string }>();
  let steps = 0;
  let changedSteps = 0;
  const reviewed = plan.nodes.filter((n) => !input.onlyNode || n.node.name === input.onlyNode);
  for (const node of reviewed) {
    steps += node.steps.length;
    const change = nodeChange(node, changed, input);
    changedSteps += change.steps.filter((s) => s.change !== "removed").length;
    if (change.steps.length === 0 && change.files.length === 0) continue;
    const key = signature(change, node);
    const group = groups.get(key) ?? { nodes: [], pools: new Set<string>(), change, shownFor: node.node.name };
    group.nodes.push(node.node.name);
    group.pools.add(node.pool.name);
    groups.set(key, group);
  }
  const entries = [...groups.values()].map((g) => ({ nodes: g.nodes, pools: [...g.pools], shownFor: g.shownFor, change: g.change }));
  const inPlan = new Set(plan.nodes.map((n) => n.node.name));
  const removedNodes = input.onlyNode ? [] : [...new Set([...diff.changes.keys()].flatMap((p) => /^nodes\/([^/]+)\//.exec(p)?.[1] ?? []))].filter((n) => !inPlan.has(n)).sort();
  const cluster = [...diff.changes.entries()]
    .filter(([path, change]) => !input.onlyNode && change !== "unchanged" && !path.startsWith("nodes/"))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([path, change]) => fileReview(path, change as Change, input, path, path));
  const changedNodes = new Set(entries.flatMap((e) => e.nodes));
  const swaps = plan.swaps.filter((s) => s.waves.some((w) => w.nodes.some((n) => changedNodes.has(n))));
  return {
    stack: plan.stack,
    base: input.base,
    hadBase: diff.hadPrevious,
    renderDir: input.renderDir,
    nodes: reviewed.length,
    changedNodes: changedNodes.size,
    steps,
    changedSteps,
    entries,
    removedNodes,
    cluster,
    swaps,
    warnings: input.warnings.map(formatProblem),
  };
}

function nodeChange(node: NodeOutline, changed: (path: string) => Change | undefined, input: ReviewInput): NodeChange {
  const base = `nodes/${node.node.name}/`;
  const steps: StepReview[] = [];
  const files: FileReview[] = [];
  const scripts: FileReview[] = [];
  const stepChange = new Map<string, StepReview["change"]>();
  const credentialChange = new Set<string>();
  const seen = new Set<string>();
  // Step files are numbered by position: a step added before others renumbers them, so the base's
  // file of a step is found by its id and a renumbered step with the same script is unchanged.
  const removedByName = new Map<string, string>();
  for (const [path, change] of input.diff.changes) {
    const match = change === "removed" && path.startsWith(`${base}steps/`) ? /^\d+-(.+)$/.exec(path.slice(`${base}steps/`.length)) : null;
    if (match) removedByName.set(match[1]!, path);
  }
  const renamed = (path: string, change: Change | undefined): { change: Change | undefined; from: string } => {
    if (change !== "added") return { change, from: path };
    const from = removedByName.get(path.slice(`${base}steps/`.length).replace(/^\d+-/, ""));
    if (!from) return { change, from: path };
    seen.add(from);
    return { change: input.before(from) === input.after(path) ? undefined : "changed", from };
  };
  node.steps.forEach((step, i) => {
    const [script, ...rest] = stepOutputPaths(node, i, step);
    const { change: scriptChange, from } = renamed(script!, changed(script!));
    if (scriptChange) {
      stepChange.set(step.id, STEP_CHANGE[scriptChange]);
      steps.push({ step: stepFileName(i, step), phase: step.phase, change: STEP_CHANGE[scriptChange], summary: step.summary });
      scripts.push(fileReview(script!.slice(base.length), scriptChange, input, from, script!));
    }
    seen.add(script!);
    for (const path of rest) {
      seen.add(path);
      const change = path.endsWith(".stdin.txt") ? renamed(path, changed(path)).change : changed(path);
      if (!change) continue;
      if (path.endsWith(".stdin.txt")) {
        // The note stands for the step's secret payload; its fingerprint changes with the credentials' references.
        if (change === "changed") credentialChange.add(step.id);
        // The step's stdin is an input of its Command: Pulumi runs the step again for it.
        if (change === "changed" && !scriptChange) {
          stepChange.set(step.id, "changed");
          steps.push({ step: stepFileName(i, step), phase: step.phase, change: "changed", summary: `${step.summary} (credentials changed)` });
        }
        files.push({ path: path.slice(base.length), change, credentials: step.secret!.description, added: 0, removed: 0 });
      } else {
        files.push(fileReview(path.slice(base.length + "files".length), change, input, path, path));
      }
    }
  });
  // What the base render had on this node and this one has not: removed steps and files.
  for (const [path, change] of input.diff.changes) {
    if (change !== "removed" || !path.startsWith(base) || seen.has(path) || path === `${base}node.json`) continue;
    const relative = path.slice(base.length);
    const step = /^steps\/(.+)\.sh$/.exec(relative);
    if (step) {
      steps.push({ step: step[1]!, phase: "", change: "removed", summary: "no longer in the plan" });
      scripts.push(fileReview(relative, "removed", input, path, path));
    } else if (!relative.endsWith(".stdin.txt")) {
      files.push(fileReview(relative.replace(/^files/, ""), "removed", input, path, path));
    }
  }
  const changedFiles = new Set(files.filter((f) => !f.credentials).map((f) => f.path));
  return { steps, files: [...files, ...scripts], services: serviceEffects(node, stepChange, changedFiles, credentialChange), drained: stepChange.has(SWAP_STEPS.drain) && stepChange.get(SWAP_STEPS.drain) !== "removed" };
}

/** Restarts and reloads, as the daemon's install and configure scripts decide them. */
function serviceEffects(node: NodeOutline, steps: ReadonlyMap<string, StepReview["change"]>, files: ReadonlySet<string>, credentials: ReadonlySet<string>): ServiceEffect[] {
  const effects = daemonEffects(node.pool.runtime.kind);
  const restart: string[] = [];
  const reload: string[] = [];
  const install = steps.get(effects.installStep);
  if (install === "new") return [{ unit: effects.unit, action: "start", because: [`${effects.installStep} is new on this node`] }, ...kubelet(steps)];
  if (install === "changed") restart.push(`${effects.installStep} changed (restarts a running ${effects.unit} when one of its binaries differs)`);
  for (const path of effects.restartFiles) if (files.has(path)) restart.push(`${path} changed`);
  for (const path of effects.reloadFiles) if (files.has(path)) reload.push(`${path} changed`);
  if (credentials.has(effects.credentialsStep)) (effects.credentials === "restart" ? restart : reload).push("registry credentials changed");
  const out: ServiceEffect[] = [];
  // A restart re-reads everything a reload would.
  if (restart.length > 0) out.push({ unit: effects.unit, action: "restart", because: [...restart, ...reload] });
  else if (reload.length > 0) out.push({ unit: effects.unit, action: "reload", because: reload });
  return [...out, ...kubelet(steps)];
}

/** A runtime swap's last phase points the kubelet at the new runtime and restarts it (swap-start.sh). */
function kubelet(steps: ReadonlyMap<string, StepReview["change"]>): ServiceEffect[] {
  const start = steps.get(SWAP_STEPS.start);
  return start && start !== "removed" ? [{ unit: "kubelet", action: "restart", because: [`runtime swap: ${SWAP_STEPS.start} repoints it to the new runtime`] }] : [];
}

/** The diff of a file from `from` in the base render to `to` in this one (the same path unless a step was renumbered). */
function fileReview(shown: string, change: Change, input: ReviewInput, from: string, to: string): FileReview {
  const before = change === "added" ? "" : (input.before(from) ?? "");
  const after = change === "removed" ? "" : (input.after(to) ?? "");
  const name = shown.startsWith("/") ? shown : `/${shown}`;
  const patch = structuredPatch(`a${name}`, `b${name}`, before, after, "", "", { context: 3 });
  let added = 0;
  let removed = 0;
  for (const line of patch.hunks.flatMap((h) => h.lines)) {
    if (line.startsWith("+")) added++;
    else if (line.startsWith("-")) removed++;
  }
  // formatPatch opens with a line of "=" that unified diff readers do not expect.
  const diff = formatPatch(patch).replace(/^=+\n/, "");
  return { path: shown, change, diff, added, removed };
}

/**
 * Two nodes have the same change when their steps, files, changed lines and effects are the same once
 * the per-node values are left out: the node's name and address, which step headers and node facts
 * carry, and each script's own hash, which changes with the name.
 */
function signature(change: NodeChange, node: NodeOutline): string {
  const own = [node.node.name, node.node.address].map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const perNode = new RegExp(`(?<![\\w.-])(${own.join("|")})(?![\\w-]|\\.\\w)`, "g");
  const normal = (text: string) => text.replace(/^([+-]KP_SCRIPT_HASH=)[0-9a-f]+$/gm, "$1#").replace(perNode, "<node>");
  const files = change.files.map((f) => ({ ...f, diff: f.diff === undefined ? undefined : normal(f.diff.split("\n").filter((l) => /^[+-]/.test(l)).join("\n")) }));
  return JSON.stringify({ ...change, files, steps: change.steps.map((s) => ({ ...s, summary: normal(s.summary) })) });
}
