import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NodeConfig, PoolConfig } from "../config/cluster";
import { effectiveSsh } from "../config/cluster-checks";
import { StackConfig } from "../config/stack";
import { NodeConnection } from "./node/connection";
import { NodeStep } from "./node/node-step";
import { SecretValues } from "./node/secret-payload";
import { NodeNetwork } from "./network/node-network";
import { CniProvider } from "./network/providers/provider";
import { ContainerdRuntime } from "./runtime/containerd";
import { CrioRuntime } from "./runtime/crio";
import { RuntimeClass } from "./runtime/runtime-class";
import { classInputs, planRuntimeClasses } from "../config/runtime-class-selection";
import { RuntimeArgsBase } from "./runtime/runtime-component";

export interface ClusterArgs {
  /** A validated stack (validateStackConfig / loadStack). */
  readonly stack: StackConfig;
  /** Secret values by reference id (`config:<key>`, `env:<NAME>`). */
  readonly secrets?: SecretValues;
  /** Reads a private key named by `privateKeyPath`; default: the file, relative to the working directory, as a secret. */
  readonly readPrivateKey?: (path: string) => pulumi.Input<string>;
  /** Where RuntimeClasses go; default: the ambient kubeconfig. */
  readonly kubernetesProvider?: k8s.Provider;
}

/** `~/` is the user's home, as in ssh; other relative paths are relative to the working directory. */
const readKeyFile = (path: string): pulumi.Output<string> =>
  pulumi.secret(readFileSync(path.startsWith("~/") ? join(homedir(), path.slice(2)) : resolve(path), "utf8"));

type PoolRuntime = ContainerdRuntime | CrioRuntime;

/** Every node pool of a stack with its runtime, and the RuntimeClasses for their handlers. */
export class Cluster extends pulumi.ComponentResource {
  readonly runtimes: Readonly<Record<string, PoolRuntime>>;
  readonly runtimeClasses: Readonly<Record<string, RuntimeClass>>;
  /** The CNI provider (Helm), when the stack picks one. */
  readonly cniProvider: CniProvider | undefined;
  /** Per pool, its CNI plugins and conflists; empty when the stack has no kubeplug:network. */
  readonly networks: Readonly<Record<string, NodeNetwork>>;
  /** Per node, the CRI endpoint its kubelet must use. */
  readonly runtimeEndpoints: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:index:Cluster", name, {}, opts);
    const { cluster } = args.stack;
    const readKey = args.readPrivateKey ?? readKeyFile;
    const runtimes: Record<string, PoolRuntime> = {};
    const endpoints: Record<string, pulumi.Output<string>> = {};
    const stepsByNode: Record<string, readonly NodeStep[]> = {};
    const networks: Record<string, NodeNetwork> = {};
    for (const pool of cluster.pools) {
      const nodes = cluster.nodes.filter((n) => n.pool === pool.name);
      if (nodes.length === 0) continue;
      const base: RuntimeArgsBase = {
        nodes: nodes.map((node) => ({ name: node.name, arch: node.arch, connection: nodeConnection(args.stack, node, readKey) })),
        kubeletCgroupDriver: cluster.kubelet.cgroupDriver,
        downloads: cluster.downloads,
        cni: args.stack.network.cni,
        ...(pool.virtualization !== undefined ? { virtualization: pool.virtualization } : {}),
        secrets: args.secrets ?? {},
      };
      const runtime = poolRuntime(pool, base, this);
      if (args.stack.networkManaged) {
        networks[pool.name] = new NodeNetwork(
          `${pool.name}-network`,
          {
            nodes: nodes.map((node, i) => ({ ...base.nodes[i]!, pool: pool.name, ...(node.podCIDR ? { podCIDR: node.podCIDR } : {}) })),
            config: args.stack.network,
            downloads: cluster.downloads,
          },
          { parent: this },
        );
      }
      runtimes[pool.name] = runtime;
      Object.assign(stepsByNode, runtime.nodeSteps);
      for (const node of nodes) endpoints[node.name] = runtime.runtimeEndpoint;
    }
    this.runtimes = runtimes;
    this.networks = networks;
    this.runtimeEndpoints = pulumi.output(endpoints);

    const { pools, nodes } = classInputs(cluster);
    const classes: Record<string, RuntimeClass> = {};
    for (const spec of planRuntimeClasses(pools, nodes, cluster.runtimeClasses).classes) {
      classes[spec.name] = new RuntimeClass(
        spec.name,
        { handler: spec.handler, ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}), ...(spec.overhead ? { overhead: spec.overhead } : {}), nodes },
        {
          parent: this,
          // The class appears only after every node it selects has the handler configured.
          dependsOn: spec.nodes.flatMap((n) => (stepsByNode[n] ?? []).slice(-1)),
          ...(args.kubernetesProvider ? { providers: { kubernetes: args.kubernetesProvider } } : {}),
        },
      );
    }
    this.runtimeClasses = classes;

    const provider = args.stack.networkManaged ? args.stack.network.provider : undefined;
    this.cniProvider = provider
      ? new CniProvider(
          provider.kind,
          // The agents start on nodes whose runtime and CNI plugins are in place.
          { settings: provider, dependsOn: [...Object.values(stepsByNode), ...Object.values(networks).flatMap((n) => Object.values(n.nodeSteps))].flat() },
          { parent: this, ...(args.kubernetesProvider ? { providers: { kubernetes: args.kubernetesProvider } } : {}) },
        )
      : undefined;
    this.registerOutputs({ runtimeEndpoints: this.runtimeEndpoints });
  }
}

function poolRuntime(pool: PoolConfig, base: RuntimeArgsBase, parent: pulumi.Resource): PoolRuntime {
  const runtime = pool.runtime;
  switch (runtime.kind) {
    case "containerd":
      return new ContainerdRuntime(pool.name, { ...base, config: runtime }, { parent });
    case "crio":
      return new CrioRuntime(pool.name, { ...base, config: runtime }, { parent });
    default: {
      const never: never = runtime;
      throw new Error(`unhandled runtime kind ${JSON.stringify(never)}`);
    }
  }
}

function nodeConnection(stack: StackConfig, node: NodeConfig, readKey: (path: string) => pulumi.Input<string>): NodeConnection {
  const ssh = effectiveSsh(stack.cluster, node);
  const agentSocketPath = () => process.env.SSH_AUTH_SOCK ?? "";
  const credentials = (c: { privateKeyPath?: string; agent?: boolean }) =>
    c.privateKeyPath ? { privateKey: readKey(c.privateKeyPath) } : c.agent ? { agentSocketPath: agentSocketPath() } : {};
  return {
    host: node.address,
    port: ssh.port ?? 22,
    user: ssh.user ?? "root",
    ...credentials(ssh),
    ...(ssh.hostKey ? { hostKey: ssh.hostKey } : {}),
    ...(ssh.bastion
      ? { bastion: { host: ssh.bastion.address, port: ssh.bastion.port, user: ssh.bastion.user, ...credentials(ssh.bastion) } }
      : {}),
  };
}
