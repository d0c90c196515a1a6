import yaml from "js-yaml";
import { stepLibrary } from "../components/node/library";
import { NodeStepSpec } from "../components/node/step";
import { ClusterPlan, ClusterPlanner, NodePlan } from "./cluster-plan";
import { storageTree } from "./storage-tree";

/** A file of the render output, by path relative to the output directory. */
export interface OutputFile {
  readonly content: string;
  readonly executable?: boolean;
  /** Equal fingerprints mean equal content (a step script's contentHash), so a diff need not hash the content again. */
  readonly fingerprint?: string;
}

/** What the plan text reads of a step: no script, and of its files only the paths. */
export type StepOutline = Pick<NodeStepSpec, "id" | "phase" | "summary" | "secret"> & { readonly files: readonly { readonly path: string }[] };

/** What the plan text reads of a node: its config, pool and step outlines. */
export interface NodeOutline extends Pick<NodePlan, "node" | "pool"> {
  readonly steps: readonly StepOutline[];
}

/** A node plan without its scripts and file contents, to keep while its files are written and let go. */
export function nodeOutline(node: NodePlan): NodeOutline {
  return {
    node: node.node,
    pool: node.pool,
    steps: node.steps.map((s) => ({ id: s.id, phase: s.phase, summary: s.summary, secret: s.secret, files: s.files.map((f) => ({ path: f.path })) })),
  };
}

export function stepFileName(index: number, step: Pick<NodeStepSpec, "id">): string {
  return `${String(index + 1).padStart(2, "0")}-${step.id}`;
}

/** Every output path one step owns: its script, its stdin note, and the files it installs. */
export function stepOutputPaths(node: NodeOutline, index: number, step: StepOutline): string[] {
  const base = `nodes/${node.node.name}`;
  const name = stepFileName(index, step);
  return [
    `${base}/steps/${name}.sh`,
    ...(step.secret ? [`${base}/steps/${name}.stdin.txt`] : []),
    ...step.files.map((f) => `${base}/files${f.path}`),
  ];
}

export const RUNTIME_CLASSES_FILE = "cluster/runtime-classes.yaml";
export const CNI_PROVIDER_FILE = "cluster/cni-provider.yaml";
/** The step library's installer, the same for every node: `bash library/install.sh NODE_NAME` as root before a node's steps. */
export const LIBRARY_FILE = "library/install.sh";

/** Lays a plan out as files: what a reviewer reads and what `pulumi up` would put on each node. */
export function planToTree(plan: ClusterPlan): Map<string, OutputFile> {
  return new Map([...clusterFiles(plan), ...plan.nodes.flatMap((node) => [...nodeFiles(node)])]);
}

/**
 * planToTree one node at a time, for a writer that drops each node's files before the next is
 * rendered; `rendered` sees each node plan once its files are out.
 */
export function* plannerFiles(planner: ClusterPlanner, rendered?: (node: NodePlan) => void): Generator<[string, OutputFile]> {
  yield* clusterFiles(planner.cluster);
  for (let i = 0; i < planner.nodeCount; i++) {
    const node = planner.planNode(i);
    yield* nodeFiles(node);
    rendered?.(node);
  }
}

/** The files every node shares (the step library) and those of cluster objects: RuntimeClasses, the CNI provider's charts, storage. */
function clusterFiles(plan: ClusterPlanner["cluster"]): Map<string, OutputFile> {
  const tree = new Map<string, OutputFile>();
  const library = stepLibrary();
  tree.set(LIBRARY_FILE, { content: library.installer, executable: true, fingerprint: library.installerHash });
  if (plan.runtimeClasses.length > 0) {
    const docs = plan.runtimeClasses.map((rc) => yaml.dump(rc.manifest, { noRefs: true, sortKeys: true }));
    tree.set(RUNTIME_CLASSES_FILE, { content: `# Managed by kubeplug: applied with the Kubernetes API after the node steps.\n---\n${docs.join("---\n")}` });
  }
  if (plan.cniProvider) {
    const { release, values } = plan.cniProvider;
    const charts = [...(release.crds ? [release.crds] : []), release.chart];
    tree.set(CNI_PROVIDER_FILE, {
      content: `# Managed by kubeplug: Helm charts deployed with @pulumi/kubernetes helm.v4.Chart after every node step.\n${yaml.dump({ namespace: release.namespace, charts, values }, { noRefs: true })}`,
    });
  }
  for (const [path, content] of storageTree(plan.storage)) tree.set(path, { content });
  return tree;
}

/** One node's files: node.json, its step scripts and stdin notes, and the files its steps install. */
function nodeFiles(node: NodePlan): Map<string, OutputFile> {
  const tree = new Map<string, OutputFile>();
  const base = `nodes/${node.node.name}`;
  tree.set(`${base}/node.json`, {
    content: JSON.stringify(
      { name: node.node.name, pool: node.pool.name, address: node.node.address, arch: node.node.arch, roles: node.node.roles, ssh: sshSummary(node), library: node.steps.length > 0 ? { file: `../../${LIBRARY_FILE}`, hash: stepLibrary().hash } : undefined, steps: node.steps.map((s, i) => ({ file: `steps/${stepFileName(i, s)}.sh`, id: s.id, phase: s.phase, dependsOn: s.dependsOn, contentHash: s.contentHash })) },
      null,
      2,
    ) + "\n",
  });
  node.steps.forEach((step, i) => {
    const name = stepFileName(i, step);
    tree.set(`${base}/steps/${name}.sh`, { content: step.script, executable: true, fingerprint: step.contentHash });
    if (step.secret) {
      tree.set(`${base}/steps/${name}.stdin.txt`, {
        content: `This step reads ${step.secret.description} on stdin.\nThe values come from secret config at pulumi up and are never written to the render output.\nReferences fingerprint: ${step.secret.fingerprint} (changes with a registry, user name or secret reference; a new secret value leaves it as it is)\n`,
      });
    }
    for (const file of step.files) {
      const existing = tree.get(`${base}/files${file.path}`);
      if (existing && existing.content !== file.content) throw new Error(`two steps on ${node.node.name} write ${file.path} differently`);
      tree.set(`${base}/files${file.path}`, { content: file.content });
    }
  });
  return tree;
}

/** What node.json says of the connection: no credentials, and how each host key is checked (pinned, known-hosts, unchecked). */
function sshSummary(node: NodePlan) {
  const { user, port, hostKeyCheck, bastion } = node.connection;
  return { user, port, hostKeyCheck, ...(bastion ? { bastion: { host: bastion.host, port: bastion.port, user: bastion.user, hostKeyCheck: bastion.hostKeyCheck } } : {}) };
}
