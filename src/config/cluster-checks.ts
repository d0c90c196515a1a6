import { Arch } from "../catalog/artifacts";
import { ClusterConfig, NodeConfig, SshConfig } from "./cluster";
import { Findings } from "./findings";
import { NetworkConfig } from "./network";
import { classInputs, planRuntimeClasses } from "./runtime-class-selection";
import { checkClusterRegistries } from "./cluster-registries";
import { checkCrio } from "./crio-checks";
import { checkHostKeys } from "./host-keys";
import { checkContainerd } from "./runtime-checks";
import { SecretRef } from "./secrets";
import { unknownNameMessage } from "./suggest";
import { checkKubeletSwap, checkPrepareSysctls, stackSysctls } from "./node-prepare";
import { checkRuntimeSwap } from "./runtime-swap-checks";

const ROOT = "kubeplug:cluster";

/** Checks that span fields of a parsed cluster: names, references, SSH, and each pool's runtime. */
export function checkCluster(cluster: ClusterConfig, network: NetworkConfig, secretKeys: ReadonlySet<string>, findings: Findings): void {
  const at = findings.at(ROOT);
  firstUse(cluster.pools.map((p) => p.name), (i, j, name) => at.child("pools", i, "name").problem(`"${name}" is already the name of pools[${j}]`));
  firstUse(cluster.nodes.map((n) => n.name), (i, j, name) => at.child("nodes", i, "name").problem(`"${name}" is already the name of nodes[${j}]`));
  firstUse(
    cluster.nodes.map((n) => `${n.address.toLowerCase()}:${effectiveSsh(cluster, n).port}`),
    (i, j) => at.child("nodes", i, "address").problem(`"${cluster.nodes[i]!.address}" is already the address of nodes[${j}] (${cluster.nodes[j]!.name})`),
  );

  // Both credentials in the cluster defaults is one mistake, reported once rather than for every node inheriting it.
  if (cluster.ssh.privateKeyPath && cluster.ssh.agent) at.child("ssh").problem(BOTH_CREDENTIALS);
  // Distinct names: a duplicate pool (reported above) must not show up twice in "expected one of".
  const poolNames = [...new Set(cluster.pools.map((p) => p.name))];
  cluster.nodes.forEach((node, i) => {
    if (!poolNames.includes(node.pool)) at.child("nodes", i, "pool").problem(unknownNameMessage("pool", node.pool, poolNames));
    const ssh = effectiveSsh(cluster, node);
    if (!ssh.privateKeyPath && !ssh.agent) {
      at.child("nodes", i, "ssh").problem("no SSH credentials: set privateKeyPath or agent: true here or in kubeplug:cluster.ssh");
    } else if (ssh.privateKeyPath && ssh.agent && (node.ssh?.privateKeyPath || node.ssh?.agent)) {
      at.child("nodes", i, "ssh").problem(bothCredentialsMessage(node));
    }
  });

  const requireSecret = (ref: SecretRef, path: PropertyKey[], under: PropertyKey[]): void => {
    if (ref.from === "config" && !secretKeys.has(ref.key)) {
      at.child(...under, ...path, "key").problem(`"${ref.key}" is not set in this stack; run: pulumi config set --secret kubeplug:${ref.key} <value>`);
    }
  };
  checkHostKeys(cluster, at);
  checkClusterRegistries(cluster, at);
  forEachSecretRef(cluster.registries, (ref, path) => requireSecret(ref, path, ["registries"]));

  checkKubeletSwap(cluster.kubelet, at.child("kubelet"));
  const needed = stackSysctls(network.podCIDR);
  checkPrepareSysctls(cluster.prepare.sysctls, at.child("prepare"), needed);
  cluster.pools.forEach((pool, i) => checkPrepareSysctls(pool.prepare?.sysctls, at.child("pools", i, "prepare"), needed));

  cluster.pools.forEach((pool, i) => {
    const nodes = cluster.nodes.filter((n) => n.pool === pool.name);
    if (nodes.length === 0) at.child("pools", i).warn(`pool "${pool.name}" has no nodes`);
    const arches = [...new Set(nodes.map((n) => n.arch as Arch))];
    const context = { cgroupDriver: cluster.kubelet.cgroupDriver, arches, downloads: cluster.downloads, cni: network.cni, virtualization: pool.virtualization, pool: pool.name };
    const runtime = pool.runtime;
    switch (runtime.kind) {
      case "containerd":
        checkContainerd(runtime, at.child("pools", i, "runtime"), context);
        break;
      case "crio":
        checkCrio(runtime, at.child("pools", i, "runtime"), context);
        break;
      default: {
        const never: never = runtime;
        throw new Error(`unhandled runtime kind ${JSON.stringify(never)}`);
      }
    }
    forEachSecretRef(pool.runtime, (ref, path) => requireSecret(ref, path, ["pools", i, "runtime"]));
    if (pool.swap) checkRuntimeSwap(cluster, pool, pool.swap, at.child("pools", i, "swap"));
  });

  const { pools, nodes } = classInputs(cluster);
  for (const problem of planRuntimeClasses(pools, nodes, cluster.runtimeClasses).problems) {
    at.child("runtimeClasses", problem.className, ...(problem.field ? [problem.field] : [])).problem(problem.message);
  }
}

const BOTH_CREDENTIALS = "set either privateKeyPath or agent: true, not both";

/** Says where each credential comes from: a node cannot unset a cluster default, which is easy to miss. */
function bothCredentialsMessage(node: NodeConfig): string {
  const key = node.ssh?.privateKeyPath ? "here" : "from kubeplug:cluster.ssh";
  const agent = node.ssh?.agent ? "here" : "from kubeplug:cluster.ssh";
  if (key === agent) return BOTH_CREDENTIALS;
  return `privateKeyPath (${key}) and agent: true (${agent}) both apply, since a node's ssh overrides kubeplug:cluster.ssh key by key; ${BOTH_CREDENTIALS}`;
}

/** Node SSH settings over the cluster defaults, key by key. */
export function effectiveSsh(cluster: ClusterConfig, node: NodeConfig): SshConfig {
  return { ...cluster.ssh, ...definedOnly(node.ssh ?? {}) };
}

/**
 * Where the setting a node uses is written, as path segments under kubeplug:cluster: the node's own
 * `ssh.<key>` when it sets one, else the cluster's; undefined when neither does.
 */
export function sshOrigin(cluster: ClusterConfig, index: number, key: keyof SshConfig): PropertyKey[] | undefined {
  if (cluster.nodes[index]!.ssh?.[key] !== undefined) return ["nodes", index, "ssh", key];
  if (cluster.ssh[key] !== undefined) return ["ssh", key];
  return undefined;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function firstUse(values: readonly string[], duplicate: (index: number, firstIndex: number, value: string) => void): void {
  const seen = new Map<string, number>();
  values.forEach((value, i) => {
    const first = seen.get(value);
    if (first === undefined) seen.set(value, i);
    else duplicate(i, first, value);
  });
}

/** Visits every secret reference under a config subtree with its path. */
export function forEachSecretRef(value: unknown, visit: (ref: SecretRef, path: PropertyKey[]) => void, path: PropertyKey[] = []): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => forEachSecretRef(item, visit, [...path, i]));
  } else if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if ((record.from === "config" && typeof record.key === "string") || (record.from === "env" && typeof record.name === "string")) {
      visit(record as SecretRef, path);
      return;
    }
    for (const [key, item] of Object.entries(record)) forEachSecretRef(item, visit, [...path, key]);
  }
}
