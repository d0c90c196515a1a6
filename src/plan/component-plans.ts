/**
 * What a standalone component (one imported into another program, not built by Cluster) validates
 * and plans: its Args are checked like the matching stack section, with errors rooted at the
 * component's kind, then the same plan pieces as planCluster's are built.
 */
import { z } from "zod";
import { Arch } from "../catalog/artifacts";
import { parseCniProvider } from "../config/cni-provider";
import { crioRuntime } from "../config/crio";
import { checkCrio } from "../config/crio-checks";
import { architecture, DownloadsConfig, downloadsConfig, hostKey, kubeletCgroupDriver, kubeletRootDir } from "../config/cluster";
import { checkKubeletSwap, checkPrepareSysctls, clusterPrepare, kubeletSwapFields, nodePrepareSettings } from "../config/node-prepare";
import { strictObject } from "../config/zod";
import { storageConfig } from "../config/storage";
import { checkStorage } from "../config/storage-checks";
import { STORAGE_DRIVERS } from "../catalog/storage";

const kubeletSwap = strictObject(kubeletSwapFields);
import { Findings, Locator } from "../config/findings";
import { CniDirsInput, DownloadsInput, NetworkInput } from "../config/input-types";
import { cniDirs, networkConfig } from "../config/network";
import { checkNetwork } from "../config/network-checks";
import { containerdRuntime } from "../config/runtime";
import { checkContainerd, PoolContext } from "../config/runtime-checks";
import { ClassNode, matches, nodesMissingHandler, RuntimeClassSpec } from "../config/runtime-class-selection";
import { zodProblems } from "../config/zod";
import { ConfigProblem, ConfigWarning, KubeplugConfigError } from "../errors";
import { networkSteps } from "../components/network/network-steps";
import { NodeStepSpec } from "../components/node/step";
import { PlannedRuntimeClass, withManifest } from "../components/runtime/runtime-class-manifest";
import { nodeStepSpecs } from "./cluster-plan";
import { planPoolRuntime, PoolRuntimePlan } from "./runtime-plan";
import { CniProviderPlan, planCniProvider } from "./network-plan";
import { planStorage, StoragePlan } from "./storage-plan";

/** What the plan checks of a node's connection: how its host key, and its bastion's, are checked. */
export interface HostKeyPolicy {
  readonly hostKey?: unknown;
  readonly insecureSkipHostKeyCheck?: boolean;
  readonly bastion?: { readonly hostKey?: unknown; readonly insecureSkipHostKeyCheck?: boolean };
}

/** A node as a standalone component names it; its connection stays with the component, which maps it. */
export interface ComponentNode {
  readonly name: string;
  /** Default amd64. */
  readonly arch?: Arch;
  readonly connection?: HostKeyPolicy;
}

export interface PlannedNodeSteps {
  readonly name: string;
  readonly steps: readonly NodeStepSpec[];
}

export interface ComponentPlan<Piece> {
  readonly piece: Piece;
  readonly nodes: readonly PlannedNodeSteps[];
  readonly warnings: readonly ConfigWarning[];
}

/** The settings a runtime component takes besides its nodes, in the shapes of the stack file. */
export interface RuntimeComponentSettings {
  /** The same shape as a pool's `runtime` in a stack file (`kind` may be left out). */
  readonly config: object;
  /** The kubelet's cgroup driver; the runtime follows it. Default systemd. */
  readonly kubeletCgroupDriver?: "systemd" | "cgroupfs";
  /** As `kubeplug:cluster.downloads`. */
  readonly downloads?: DownloadsInput;
  /** As `kubeplug:network.cni`'s binDir and confDir; default /opt/cni/bin and /etc/cni/net.d. */
  readonly cni?: CniDirsInput;
  /** Whether the nodes expose /dev/kvm; false refuses Kata and gVisor's kvm platform up front. Unset: checked on each node. */
  readonly virtualization?: boolean;
  /** As `kubeplug:cluster.prepare`: extra kernel modules and sysctls for the node-prepare step. */
  readonly prepare?: { readonly modules?: readonly string[]; readonly sysctls?: Readonly<Record<string, string | number>> };
  /** As `kubeplug:cluster.kubelet`'s failSwapOn and memorySwap: what the swap check follows. Default failSwapOn: true. */
  readonly kubeletSwap?: { readonly failSwapOn?: boolean; readonly memorySwap?: { readonly swapBehavior?: "NoSwap" | "LimitedSwap" } };
}

const RUNTIMES = {
  containerd: { schema: containerdRuntime, check: checkContainerd },
  crio: { schema: crioRuntime, check: checkCrio },
} as const;

/** A containerd or CRI-O runtime on a set of nodes, as ContainerdRuntime and CrioRuntime build it. */
export function planRuntimeComponent(
  kind: keyof typeof RUNTIMES,
  name: string,
  nodes: readonly ComponentNode[],
  settings: RuntimeComponentSettings,
): ComponentPlan<PoolRuntimePlan> {
  const findings = new Findings();
  const at = findings.at(kind);
  const { schema, check } = RUNTIMES[kind];
  const config = parsed(schema, { kind, ...settings.config }, kind);
  const downloads = parsed(downloadsConfig, settings.downloads ?? {}, "downloads");
  const cni = parsed(cniDirs, settings.cni ?? {}, "cni");
  const cgroupDriver = kubeletCgroupDriver.parse(settings.kubeletCgroupDriver);
  const context: PoolContext = { cgroupDriver, arches: [...new Set(nodes.map(arch))], downloads, cni, virtualization: settings.virtualization, pool: name };
  (check as (config: unknown, at: Locator, context: PoolContext) => void)(config, at, context);
  // Overrides replace hosts of kubeplug:cluster.registries; a component on its own inherits none.
  for (const host of Object.keys(config.registries.overrides)) {
    at.child("registries", "overrides", host).problem(`a ${kind} component on its own inherits no cluster registries, so there is nothing to override; put ${host} under registries.hosts`);
  }
  checkHostKeyPolicies(nodes, findings.at("nodes"));
  failOn(findings.problems);
  const prepareConfig = parsed(clusterPrepare, settings.prepare ?? {}, "prepare");
  const kubelet = parsed(kubeletSwap, settings.kubeletSwap ?? {}, "kubelet");
  checkPrepareSysctls(prepareConfig.sysctls, findings.at("prepare"));
  checkKubeletSwap(kubelet, findings.at("kubelet"));
  failOn(findings.problems);
  const prepare = nodePrepareSettings({ cluster: prepareConfig, kubelet });
  const piece = planPoolRuntime(config, { pool: name, cgroupDriver, cni, downloads, prepare }, at);
  failOn(findings.problems);
  return {
    piece: piece!,
    nodes: nodes.map((node) => ({ name: node.name, steps: nodeStepSpecs(piece!.steps({ name: node.name, arch: arch(node) })) })),
    warnings: findings.warnings,
  };
}

export interface NetworkComponentNode extends ComponentNode {
  /** Pool name: conflists may be limited to pools. Default "default". */
  readonly pool?: string;
  /** The node's pod subnet; host-local IPAM without ranges allocates from it. */
  readonly podCIDR?: string;
}

/** CNI plugins and conflists on a set of nodes, as NodeNetwork builds them. */
export function planNetworkComponent(
  nodes: readonly NetworkComponentNode[],
  settings: { readonly config: NetworkInput; readonly downloads?: DownloadsInput },
): ComponentPlan<{ readonly downloads: DownloadsConfig }> {
  const config = parsed(networkConfig, settings.config, "network");
  const downloads = parsed(downloadsConfig, settings.downloads ?? {}, "downloads");
  const stepNodes = nodes.map((n) => ({ name: n.name, pool: n.pool ?? "default", arch: arch(n), podCIDR: n.podCIDR }));
  const pools = [...new Set(stepNodes.map((n) => n.pool))].map((pool) => ({ name: pool }));
  const findings = new Findings();
  checkNetwork(config, { pools, nodes: stepNodes, downloads }, findings.at("network"), findings.at("nodes"));
  checkHostKeyPolicies(nodes, findings.at("nodes"));
  failOn(findings.problems);
  return {
    piece: { downloads },
    nodes: stepNodes.map((node) => ({ name: node.name, steps: nodeStepSpecs(networkSteps(config, node, downloads)) })),
    warnings: findings.warnings,
  };
}

/** A RuntimeClass outside a stack: refused when its selector picks a node whose runtime lacks the handler. */
export function planRuntimeClass(
  name: string,
  args: { readonly handler: string; readonly nodeSelector?: Readonly<Record<string, string>>; readonly overhead?: RuntimeClassSpec["overhead"]; readonly nodes: readonly ClassNode[] },
): PlannedRuntimeClass {
  const missing = nodesMissingHandler(args.handler, args.nodeSelector, args.nodes);
  failOn(
    missing.length > 0
      ? [{ path: `runtimeClasses.${name}.nodeSelector`, message: `selects ${missing.map((n) => `${n.name} (pool ${n.pool})`).join(", ")}, whose runtime has no handler "${args.handler}"` }]
      : [],
  );
  return withManifest({
    name,
    handler: args.handler,
    ...(args.nodeSelector ? { nodeSelector: args.nodeSelector } : {}),
    ...(args.overhead ? { overhead: args.overhead } : {}),
    nodes: args.nodes.filter((n) => matches(n.labels, args.nodeSelector)).map((n) => n.name),
  });
}

/** A CNI provider outside a stack: settings as in `kubeplug:network.provider`, errors rooted there. */
export function planCniProviderComponent(settings: unknown): CniProviderPlan {
  return planCniProvider(parseCniProvider(settings));
}

const arch = (node: ComponentNode): Arch => architecture.parse(node.arch);

const NO_HOST_KEY = 'no host key: pin hostKey (e.g. "ssh-ed25519 AAAA...", the host\'s /etc/ssh/ssh_host_ed25519_key.pub), or, for a throwaway lab only, set insecureSkipHostKeyCheck: true';

/**
 * As a stack's nodes: each connection pins its host key (a string key is checked like ssh.hostKey;
 * an Output is taken as it comes) or opts out by name, which warns; a bastion likewise, or under the
 * connection's opt-out. Nodes without a connection (planning only) are not checked.
 */
function checkHostKeyPolicies(nodes: readonly ComponentNode[], at: Locator): void {
  nodes.forEach((node, i) => {
    const connection = node.connection;
    if (!connection) return;
    const here = at.child(i, "connection");
    const check = (policy: { readonly hostKey?: unknown }, skipAt: Locator | undefined, place: Locator, what: string) => {
      if (policy.hostKey === undefined) {
        if (skipAt) skipAt.child("insecureSkipHostKeyCheck").warn(`the host key of ${what} is not checked: whoever answers at its address gets root commands and registry credentials; for throwaway labs only`);
        else place.child("hostKey").problem(NO_HOST_KEY);
      } else if (typeof policy.hostKey === "string") {
        const parsed = hostKey.safeParse(policy.hostKey);
        if (!parsed.success) place.child("hostKey").problem(parsed.error.issues[0]!.message);
      }
    };
    check(connection, connection.insecureSkipHostKeyCheck ? here : undefined, here, node.name);
    const bastion = connection.bastion;
    if (bastion) {
      const skipAt = bastion.insecureSkipHostKeyCheck !== undefined ? (bastion.insecureSkipHostKeyCheck ? here.child("bastion") : undefined) : connection.insecureSkipHostKeyCheck ? here : undefined;
      check(bastion, skipAt, here.child("bastion"), `${node.name}'s bastion`);
    }
  });
}

/**
 * Storage objects outside a stack: one section of `kubeplug:storage`, checked against the catalog like a
 * stack's. A class names its driver, which may be deployed elsewhere (another program, by hand), so the
 * caller lists it under `drivers` only to say which entry types the parameters.
 */
export function planStorageComponents(section: object, kubeletDir?: string): StoragePlan & { readonly warnings: readonly ConfigWarning[] } {
  const storage = parsed(storageConfig, section, "storage");
  const kubelet = parsed(kubeletRootDir, kubeletDir, "kubeletDir");
  const findings = new Findings();
  for (const [id, driver] of Object.entries(storage.drivers)) {
    if (driver.pools) findings.at("storage", "drivers", id, "pools").problem("a component alone has no pools: the nodes its DaemonSet reaches are the cluster's to choose (nodeSelector in values)");
  }
  checkStorage(storage, [], STORAGE_DRIVERS, findings.at("storage"));
  failOn(findings.problems);
  return { ...planStorage(storage, { kubeletDir: kubelet, nodes: [] }), warnings: findings.warnings };
}

function parsed<Schema extends z.ZodType>(schema: Schema, input: unknown, root: string): z.output<Schema> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw new KubeplugConfigError(zodProblems(root, result.error));
  return result.data;
}

function failOn(problems: readonly ConfigProblem[]): void {
  if (problems.length > 0) throw new KubeplugConfigError(problems);
}
