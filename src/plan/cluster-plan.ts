import { Arch } from "../catalog/artifacts";
import { ClusterConfig, NodeConfig, PoolConfig } from "../config/cluster";
import { effectiveSsh } from "../config/cluster-checks";
import { Findings } from "../config/findings";
import { HostKeyCheck, nodeHostKeyChecks } from "../config/host-keys";
import { classInputs, planRuntimeClasses } from "../config/runtime-class-selection";
import { StackConfig } from "../config/stack";
import { nodePrepareSettings, stackSysctls } from "../config/node-prepare";
import { KubeplugConfigError } from "../errors";
import { networkSteps } from "../components/network/network-steps";
import { PlannedRuntimeClass, withManifest } from "../components/runtime/runtime-class-manifest";
import { buildNodeStep, NodeStepSpec, StepDefinition, StepNode } from "../components/node/step";
import { CniProviderPlan, planCniProvider } from "./network-plan";
import { LocalFacts } from "./preflight";
import { planPoolRuntime, PoolRuntimePlan } from "./runtime-plan";
import { planStorage, StoragePlan, storagePrerequisitesByNode } from "./storage-plan";
import { DriverPrerequisites, mergedDrivers, mergePrerequisites, STORAGE_PREPARE_STEP, storagePrepareStep } from "../components/node/storage-prepare-steps";
import { NODE_PREPARE_STEP } from "../components/node/prepare-steps";
import { SWAP_STEPS, swapSteps } from "../components/runtime/runtime-swap";
import { drainWaits, planPoolSwap, PoolSwapPlan, positionOf, swapTarget } from "./swap-plan";

/** Which component owns a step: the pool's runtime or the node's CNI. */
export type StepGroup = "runtime" | "network";

export interface PlannedStep extends NodeStepSpec {
  readonly group: StepGroup;
}

/**
 * How a host's key is checked: `pinned` (hostKey written in the stack), `known-hosts` (hostKey from
 * the knownHostsFile named; absent when the plan was made without preflight's LocalFacts, and then
 * the plan cannot be applied), `unchecked` (insecureSkipHostKeyCheck: true).
 */
export type HostKeyCheckKind = Exclude<HostKeyCheck["kind"], "missing">;

/** How to reach a host, with every default applied; key files are named, never read. */
export interface ConnectionFacts {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKeyPath?: string;
  readonly agent?: boolean;
  readonly hostKeyCheck: HostKeyCheckKind;
  readonly hostKey?: string;
  /** The known_hosts file hostKey comes from (hostKeyCheck `known-hosts`). */
  readonly knownHostsFile?: string;
  readonly bastion?: Omit<ConnectionFacts, "bastion">;
}

export interface NodePlan {
  readonly node: NodeConfig;
  readonly pool: PoolConfig;
  readonly connection: ConnectionFacts;
  /** In an order that respects `dependsOn`; runtime steps first. */
  readonly steps: readonly PlannedStep[];
}

export interface ClusterPlan {
  readonly stack: string;
  /** kubeplug:cluster.lab: a throwaway lab, where the policy pack allows what it refuses elsewhere. */
  readonly lab: boolean;
  readonly pools: readonly PoolRuntimePlan[];
  readonly nodes: readonly NodePlan[];
  /** Cluster objects, applied through the Kubernetes API after the node steps they depend on. */
  readonly runtimeClasses: readonly PlannedRuntimeClass[];
  readonly cniProvider?: CniProviderPlan;
  /** CSI drivers, StorageClasses, snapshot classes and the snapshotter; empty when the stack has no kubeplug:storage. */
  readonly storage: StoragePlan;
  /** Pools whose nodes move to the pool's runtime from another one, with their waves. */
  readonly swaps: readonly PoolSwapPlan[];
}

const ROOT = "kubeplug:cluster";

/** A plan whose nodes are rendered one at a time, so a caller that writes each node's files can drop them before the next. */
export interface ClusterPlanner {
  readonly cluster: Omit<ClusterPlan, "nodes">;
  readonly nodeCount: number;
  planNode(index: number): NodePlan;
}

/**
 * The only place a cluster is composed: every node's steps, how to reach each node, and every
 * cluster object. Pure: no I/O, no Pulumi. Throws KubeplugConfigError for what only rendering shows.
 * `local` (from preflight) gives the host keys of known_hosts files; without it those stay unresolved.
 */
export function planCluster(config: StackConfig, local?: LocalFacts): ClusterPlan {
  const planner = clusterPlanner(config, local);
  return { ...planner.cluster, nodes: Array.from({ length: planner.nodeCount }, (_, i) => planner.planNode(i)) };
}

/** planCluster with each node's steps rendered only when asked for. */
export function clusterPlanner(config: StackConfig, local?: LocalFacts): ClusterPlanner {
  const { cluster } = config;
  const findings = new Findings();
  const context = { cgroupDriver: cluster.kubelet.cgroupDriver, cni: config.network.cni, downloads: cluster.downloads };
  const needed = stackSysctls(config.network.podCIDR);
  const planned = cluster.pools.map((pool, i) =>
    planPoolRuntime(
      pool.runtime,
      { ...context, pool: pool.name, prepare: nodePrepareSettings({ cluster: cluster.prepare, pool: pool.prepare, kubelet: cluster.kubelet, stackSysctls: needed }) },
      findings.at(ROOT, "pools", i, "runtime"),
    ),
  );
  if (findings.problems.length > 0) throw new KubeplugConfigError(findings.problems);
  const pools = planned as PoolRuntimePlan[];
  const storage = planStorage(config.storage, { kubeletDir: cluster.kubelet.rootDir, nodes: cluster.nodes });
  const storageNeeds = storagePrerequisitesByNode(storage);
  const byName = new Map(pools.map((p, i) => [p.name, { runtime: p, pool: cluster.pools[i]! }]));
  const swaps = planSwaps(cluster, byName);
  const waits = drainWaits(swaps);
  const planNode = (i: number): NodePlan => {
    const node = cluster.nodes[i]!;
    const { runtime, pool } = byName.get(node.pool)!;
    const stepNode = { name: node.name, arch: node.arch };
    const prepared = withStoragePrepare(runtime.steps(stepNode), storageNeeds.get(node.name) ?? [], stepNode);
    const swap = swaps.find((s) => s.pool === pool.name);
    const runtimeSteps = swap && pool.swap ? withSwap(prepared, swapSteps({ node: stepNode, pool: pool.name, swap: pool.swap, to: swapTarget(runtime, pool.runtime.sandboxImage, pool.runtime.version), position: positionOf(swap, node.name), kubelet: cluster.kubelet }), pool.swap.attempt) : prepared;
    return {
      node,
      pool,
      connection: connectionFacts(cluster, i, local),
      steps: [
        ...tagged("runtime", runtimeSteps).map((step) => (step.id === SWAP_STEPS.drain && waits.has(node.name) ? { ...step, waitsFor: waits.get(node.name)! } : step)),
        ...(config.networkManaged ? tagged("network", networkSteps(config.network, { ...stepNode, pool: node.pool, podCIDR: node.podCIDR }, cluster.downloads)) : []),
      ],
    };
  };
  const classes = classInputs(cluster);
  const provider = config.networkManaged ? config.network.provider : undefined;
  return {
    cluster: {
      stack: config.stack,
      lab: cluster.lab,
      pools,
      runtimeClasses: planRuntimeClasses(classes.pools, classes.nodes, cluster.runtimeClasses).classes.map(withManifest),
      ...(provider ? { cniProvider: planCniProvider(provider) } : {}),
      storage,
      swaps,
    },
    nodeCount: cluster.nodes.length,
    planNode,
  };
}

/** Each pool with a swap and nodes: its waves and the phases of one node's swap. */
function planSwaps(cluster: ClusterConfig, byName: ReadonlyMap<string, { runtime: PoolRuntimePlan; pool: PoolConfig }>): PoolSwapPlan[] {
  return cluster.pools.flatMap((pool) => {
    const swap = pool.swap;
    const members = cluster.nodes.filter((n) => n.pool === pool.name);
    if (!swap || members.length === 0) return [];
    const runtime = byName.get(pool.name)!.runtime;
    const target = swapTarget(runtime, pool.runtime.sandboxImage, pool.runtime.version);
    const sample = { name: members[0]!.name, arch: members[0]!.arch };
    const phases = withSwap(runtime.steps(sample), swapSteps({ node: sample, pool: pool.name, swap, to: target, position: { wave: 1, waves: 1 }, kubelet: cluster.kubelet }), swap.attempt).map((d) => d.id);
    return [planPoolSwap({ ...pool, swap }, runtime, target, members, phases)];
  });
}

/**
 * A node's runtime steps with its swap around the new runtime's install: preflight, drain and
 * stop-old after the node's preparation steps, the installs after stop-old (the new runtime may
 * install over the old one's binaries and socket), then prepull, repoint and start, last, so what
 * waits for the node's runtime (RuntimeClasses, the next wave) waits for the whole swap.
 */
function withSwap(definitions: readonly StepDefinition[], swap: ReturnType<typeof swapSteps>, attempt: number): StepDefinition[] {
  const preparation = [NODE_PREPARE_STEP, STORAGE_PREPARE_STEP];
  const prep = definitions.filter((d) => preparation.includes(d.id));
  const rest = definitions.filter((d) => !preparation.includes(d.id));
  const [preflight, ...before] = swap.before;
  const stopOld = before.at(-1)!.id;
  const installs = rest.map((d) => ({ ...d, dependsOn: [...d.dependsOn.filter((id) => !preparation.includes(id)), ...(d.dependsOn.some((id) => preparation.includes(id)) ? [stopOld] : [])] }));
  // A new attempt changes every script of the swap window, so Pulumi runs them all again.
  const again = (d: StepDefinition) => (attempt > 1 ? { ...d, summary: `${d.summary} (swap attempt ${attempt})` } : d);
  return [...prep, ...[{ ...preflight!, dependsOn: prep.map((d) => d.id) }, ...before, ...installs, ...swap.after(rest.map((d) => d.id))].map(again)];
}

/**
 * The node's storage prerequisites right after node-prepare, with the runtime's own steps after them:
 * both install Debian packages, and two apt runs on one node at once fail on dpkg's lock. The step
 * travels with the runtime's steps (the runtime component owns the node's first steps) and every
 * driver waits for it.
 */
function withStoragePrepare(definitions: readonly StepDefinition[], needs: readonly DriverPrerequisites[], node: StepNode): StepDefinition[] {
  const merged = mergePrerequisites(needs);
  if (mergedDrivers(merged).length === 0) return [...definitions];
  const at = definitions.findIndex((d) => d.id === NODE_PREPARE_STEP) + 1;
  const after = definitions.slice(at).map((d) => (d.dependsOn.includes(NODE_PREPARE_STEP) ? { ...d, dependsOn: [...d.dependsOn, STORAGE_PREPARE_STEP] } : d));
  return [...definitions.slice(0, at), storagePrepareStep(node, merged), ...after];
}

/** Renders step definitions into the specs a NodeStep runs. */
export function nodeStepSpecs(definitions: readonly StepDefinition[]): NodeStepSpec[] {
  return definitions.map(buildNodeStep);
}

function tagged(group: StepGroup, definitions: readonly StepDefinition[]): PlannedStep[] {
  return nodeStepSpecs(definitions).map((spec) => ({ ...spec, group }));
}

function connectionFacts(cluster: ClusterConfig, index: number, local: LocalFacts | undefined): ConnectionFacts {
  const node = cluster.nodes[index]!;
  const ssh = effectiveSsh(cluster, node);
  const checks = nodeHostKeyChecks(cluster, index);
  const known = local?.knownHostKeys.get(node.name);
  const credentials = (c: { privateKeyPath?: string | undefined; agent?: boolean | undefined }) => ({
    ...(c.privateKeyPath ? { privateKeyPath: c.privateKeyPath } : {}),
    ...(c.agent ? { agent: true } : {}),
  });
  return {
    host: node.address,
    port: ssh.port,
    user: ssh.user,
    ...credentials(ssh),
    ...hostKeyFacts(checks.node, known?.node),
    ...(ssh.bastion
      ? { bastion: { host: ssh.bastion.address, port: ssh.bastion.port, user: ssh.bastion.user, ...credentials(ssh.bastion), ...hostKeyFacts(checks.bastion!.check, known?.bastion) } }
      : {}),
  };
}

/** Validation has refused a host without a check, so `missing` cannot reach the plan. */
function hostKeyFacts(check: HostKeyCheck, fromKnownHosts: string | undefined): Pick<ConnectionFacts, "hostKeyCheck" | "hostKey" | "knownHostsFile"> {
  switch (check.kind) {
    case "pinned":
      return { hostKeyCheck: "pinned", hostKey: check.hostKey };
    case "known-hosts":
      return { hostKeyCheck: "known-hosts", knownHostsFile: check.file, ...(fromKnownHosts ? { hostKey: fromKnownHosts } : {}) };
    case "unchecked":
      return { hostKeyCheck: "unchecked" };
    case "missing":
      throw new Error("a host without a host key check passed validation");
  }
}

