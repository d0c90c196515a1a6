import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterPlan, ConnectionFacts, NodePlan, StepGroup } from "../plan/cluster-plan";
import { resolveLocalPath } from "../plan/preflight";
import { NodeConnection } from "./node/connection";
import { NodeLibraries, NodeStep, PlannedNode, StepDirectory } from "./node/node-step";
import { SecretValues } from "./node/secret-payload";
import { NodeNetwork } from "./network/node-network";
import { CniProvider } from "./network/providers/provider";
import { ContainerdRuntime } from "./runtime/containerd";
import { CrioRuntime } from "./runtime/crio";
import { RuntimeClass } from "./runtime/runtime-class";
import { PlannedRuntimeArgs } from "./runtime/runtime-component";
import { CsiDriver } from "./storage/csi-driver";
import { Snapshotter } from "./storage/snapshotter";
import { StorageClass, VolumeSnapshotClass } from "./storage/storage-class";

export interface ClusterArgs {
  /** What planCluster made of a validated stack (loadStack / validateStackConfig). */
  readonly plan: ClusterPlan;
  /** Secret values by reference id (`config:<key>`, `env:<NAME>`). */
  readonly secrets?: SecretValues;
  /** Reads a private key named by `privateKeyPath`; default: the file, relative to the working directory, as a secret. */
  readonly readPrivateKey?: (path: string) => pulumi.Input<string>;
  /** Where RuntimeClasses and the CNI provider go; default: the ambient kubeconfig. */
  readonly kubernetesProvider?: k8s.Provider;
}

/** `~/` is the user's home, as in ssh; other relative paths are relative to the working directory (preflight checked the file). */
function readKeyFile(path: string): pulumi.Output<string> {
  const file = resolveLocalPath(path, { projectDir: process.cwd(), homeDir: homedir() });
  try {
    return pulumi.secret(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the private key "${path}" (${file}): ${(error as Error).message}`);
  }
}

type PoolRuntime = ContainerdRuntime | CrioRuntime;

const RUNTIME_COMPONENTS = {
  containerd: (name: string, args: PlannedRuntimeArgs, opts: pulumi.ComponentResourceOptions) => new ContainerdRuntime(name, args, opts),
  crio: (name: string, args: PlannedRuntimeArgs, opts: pulumi.ComponentResourceOptions) => new CrioRuntime(name, args, opts),
} as const;

/**
 * A cluster plan as Pulumi resources: per pool its runtime and CNI, then the RuntimeClasses and the
 * CNI provider. Everything was validated and decided by planCluster; this only maps it.
 */
export class Cluster extends pulumi.ComponentResource {
  readonly runtimes: Readonly<Record<string, PoolRuntime>>;
  readonly runtimeClasses: Readonly<Record<string, RuntimeClass>>;
  /** The CNI provider (Helm), when the stack picks one. */
  readonly cniProvider: CniProvider | undefined;
  /** Per pool, its CNI plugins and conflists; empty when the stack has no kubeplug:network. */
  readonly networks: Readonly<Record<string, NodeNetwork>>;
  /** CSI drivers by catalog id, with their classes by name; empty when the stack has no kubeplug:storage. */
  readonly storageDrivers: Readonly<Record<string, CsiDriver>>;
  readonly storageClasses: Readonly<Record<string, StorageClass>>;
  readonly snapshotClasses: Readonly<Record<string, VolumeSnapshotClass>>;
  /** The snapshot CRDs and controller, when any snapshot class is requested. */
  readonly snapshotter: Snapshotter | undefined;
  /** Per node, the CRI endpoint its kubelet must use. */
  readonly runtimeEndpoints: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // What policies (policy/) judge the whole cluster by: they see a component's inputs and outputs, never its plan.
    const policyFacts = clusterPolicyFacts(args.plan);
    super("kubeplug:index:Cluster", name, policyFacts, opts);
    const { plan } = args;
    const readKey = args.readPrivateKey ?? readKeyFile;
    const k8sProvider = args.kubernetesProvider ? { providers: { kubernetes: args.kubernetesProvider } } : {};
    const runtimes: Record<string, PoolRuntime> = {};
    const networks: Record<string, NodeNetwork> = {};
    const stepsByNode: Record<string, readonly NodeStep[]> = {};
    const directory = new StepDirectory();
    const libraries = new NodeLibraries("", this);
    for (const pool of plan.pools) {
      const nodes = plan.nodes.filter((n) => n.pool.name === pool.name);
      if (nodes.length === 0) continue;
      const planned = (group: StepGroup): PlannedNode[] =>
        nodes.map((n) => ({ name: n.node.name, connection: nodeConnection(n.connection, readKey), steps: n.steps.filter((s) => s.group === group), directory, libraries }));
      const runtime = RUNTIME_COMPONENTS[pool.kind](pool.name, { fromPlan: { runtime: pool, nodes: planned("runtime") }, ...(args.secrets ? { secrets: args.secrets } : {}) }, { parent: this });
      runtimes[pool.name] = runtime;
      Object.assign(stepsByNode, runtime.nodeSteps);
      if (hasSteps(nodes, "network")) networks[pool.name] = new NodeNetwork(`${pool.name}-network`, { fromPlan: { nodes: planned("network") } }, { parent: this });
    }
    this.runtimes = runtimes;
    this.networks = networks;
    this.runtimeEndpoints = pulumi.output(Object.fromEntries(plan.nodes.map((n) => [n.node.name, plan.pools.find((p) => p.name === n.pool.name)!.runtimeEndpoint])));

    this.runtimeClasses = Object.fromEntries(
      plan.runtimeClasses.map((spec) => [
        spec.name,
        new RuntimeClass(spec.name, { fromPlan: spec }, {
          parent: this,
          // The class appears only after every node it selects has the handler configured.
          dependsOn: spec.nodes.flatMap((n) => (stepsByNode[n] ?? []).slice(-1)),
          ...k8sProvider,
        }),
      ]),
    );

    this.cniProvider = plan.cniProvider
      ? new CniProvider(
          plan.cniProvider.settings.kind,
          // The agents start on nodes whose runtime and CNI plugins are in place.
          { fromPlan: plan.cniProvider, dependsOn: [...Object.values(stepsByNode), ...Object.values(networks).flatMap((n) => Object.values(n.nodeSteps))].flat() },
          { parent: this, ...k8sProvider },
        )
      : undefined;
    const storage = plan.storage;
    const snapshotter = (this.snapshotter = storage.snapshotter ? new Snapshotter("snapshot-controller", {}, { parent: this, ...k8sProvider }) : undefined);
    this.storageDrivers = Object.fromEntries(
      storage.drivers.map((driver) => [
        driver.id,
        new CsiDriver(driver.id, {
          fromPlan: driver,
          dependsOn: [
            // Node plugins start on nodes that have the runtime and the pod network; a csi-snapshotter sidecar needs the CRDs it watches.
            ...driver.nodes.flatMap((n) => stepsByNode[n] ?? []),
            ...(this.cniProvider ? [this.cniProvider] : []),
            ...(snapshotter && driver.entry.capabilities.snapshots ? [snapshotter.crds] : []),
          ],
        }, { parent: this, ...k8sProvider }),
      ]),
    );
    this.storageClasses = Object.fromEntries(
      storage.classes.map((sc) => [sc.name, new StorageClass(sc.name, { fromPlan: sc, dependsOn: [this.storageDrivers[sc.driver]!] }, { parent: this, ...k8sProvider })]),
    );
    this.snapshotClasses = Object.fromEntries(
      storage.snapshotClasses.map((vsc) => [
        vsc.name,
        new VolumeSnapshotClass(vsc.name, { fromPlan: vsc, dependsOn: [this.storageDrivers[vsc.driver]!, snapshotter!.controller] }, { parent: this, ...k8sProvider }),
      ]),
    );
    this.registerOutputs({ ...policyFacts, runtimeEndpoints: this.runtimeEndpoints });
  }
}

/** The facts of a plan the policy pack reads from the Cluster resource: whether it is a lab, and each runtime swap's limits and waves. */
export function clusterPolicyFacts(plan: ClusterPlan) {
  return {
    lab: plan.lab,
    swaps: plan.swaps.map((s) => ({ pool: s.pool, from: s.from, to: s.to, maxUnavailable: s.maxUnavailable, waveSize: s.waveSize, waves: s.waves.map((w) => ({ nodes: w.nodes, controlPlane: w.controlPlane })) })),
  };
}

const hasSteps = (nodes: readonly NodePlan[], group: StepGroup) => nodes.some((n) => n.steps.some((s) => s.group === group));

/**
 * The plan names key files; only the program reads them, so key material never enters a plan.
 *
 * `agent: true` adds nothing to the connection. The agent socket ($SSH_AUTH_SOCK) changes with every
 * login session, and a changed connection replaces every step, so it must not be a resource input.
 * @pulumi/command 1.2.1 dials $SSH_AUTH_SOCK itself when a connection names no agentSocketPath, for the
 * node and for the proxy (bastion) alike: pulumi/pulumi-command at v1.2.1 (commit
 * 7f3eb6f3b77cd0fa3895ba437a695dd393f7dd25), provider/pkg/provider/remote/connection.go,
 * connectionBase.SSHConfig ("if con.AgentSocketPath != nil ... else tryGetDefaultAgentSocket()"), with
 * tryGetDefaultAgentSocket in connection_unix.go reading SSH_AUTH_SOCK, and ProxyConnection
 * (proxyConnection.go) embedding the same connectionBase.
 */
function nodeConnection(facts: ConnectionFacts, readKey: (path: string) => pulumi.Input<string>): NodeConnection {
  const credentials = (c: { readonly privateKeyPath?: string }) => (c.privateKeyPath ? { privateKey: readKey(c.privateKeyPath) } : {});
  const { bastion } = facts;
  return {
    host: facts.host,
    port: facts.port,
    user: facts.user,
    ...credentials(facts),
    ...hostKey(facts),
    ...(bastion ? { bastion: { host: bastion.host, port: bastion.port, user: bastion.user, ...credentials(bastion), ...hostKey(bastion) } } : {}),
  };
}

/** The plan says how each host key is checked; a known_hosts key is there only when the plan was made with preflight's facts. */
function hostKey(facts: Omit<ConnectionFacts, "bastion">): Pick<NodeConnection, "hostKey" | "insecureSkipHostKeyCheck"> {
  if (facts.hostKeyCheck === "unchecked") return { insecureSkipHostKeyCheck: true };
  if (facts.hostKey) return { hostKey: facts.hostKey };
  throw new Error(`${facts.host}: the plan holds no host key from ${facts.knownHostsFile ?? "its known_hosts file"}; plan with the LocalFacts preflight returns (planCluster(config, preflight(config, local)))`);
}
