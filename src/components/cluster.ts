import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { NodeConfig } from "../config/cluster";
import { effectiveSsh } from "../config/cluster-checks";
import { StackConfig } from "../config/stack";
import { NodeConnection } from "./node/connection";
import { ContainerdRuntime } from "./runtime/containerd";

export interface ClusterArgs {
  /** A validated stack (validateStackConfig / loadStack). */
  readonly stack: StackConfig;
  /** Secret values by reference id (`config:<key>`, `env:<NAME>`). */
  readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Reads a private key named by `privateKeyPath`; default: the file, relative to the working directory, as a secret. */
  readonly readPrivateKey?: (path: string) => pulumi.Input<string>;
}

const readKeyFile = (path: string): pulumi.Output<string> => pulumi.secret(readFileSync(resolve(path), "utf8"));

/** Every node pool of a stack with its runtime; network and storage join here as they land. */
export class Cluster extends pulumi.ComponentResource {
  readonly runtimes: Readonly<Record<string, ContainerdRuntime>>;
  /** Per node, the CRI endpoint its kubelet must use. */
  readonly runtimeEndpoints: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:index:Cluster", name, {}, opts);
    const { cluster } = args.stack;
    const readKey = args.readPrivateKey ?? readKeyFile;
    const runtimes: Record<string, ContainerdRuntime> = {};
    const endpoints: Record<string, pulumi.Output<string>> = {};
    for (const pool of cluster.pools) {
      const nodes = cluster.nodes.filter((n) => n.pool === pool.name);
      if (nodes.length === 0) continue;
      const runtime = new ContainerdRuntime(
        pool.name,
        {
          nodes: nodes.map((node) => ({ name: node.name, arch: node.arch, connection: nodeConnection(args.stack, node, readKey) })),
          config: pool.runtime,
          kubeletCgroupDriver: cluster.kubelet.cgroupDriver,
          downloads: cluster.downloads,
          cni: args.stack.network.cni,
          secrets: args.secrets ?? {},
        },
        { parent: this },
      );
      runtimes[pool.name] = runtime;
      for (const node of nodes) endpoints[node.name] = runtime.runtimeEndpoint;
    }
    this.runtimes = runtimes;
    this.runtimeEndpoints = pulumi.output(endpoints);
    this.registerOutputs({ runtimeEndpoints: this.runtimeEndpoints });
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
