import { Arch } from "../catalog/artifacts";
import { NodeConfig, PoolConfig, SshInput } from "../config/cluster";
import { effectiveSsh } from "../config/cluster-checks";
import { StackConfig } from "../config/stack";
import { RenderedContainerd, renderContainerd } from "../components/runtime/containerd-render";
import { containerdSteps } from "../components/runtime/containerd-steps";
import { buildNodeStep, NodeStepSpec, StepDefinition, StepNode } from "../components/node/step";
import { RenderedCrio, renderCrio } from "../components/runtime/crio-render";
import { crioSteps } from "../components/runtime/crio-steps";
import { networkSteps } from "../components/network/network-steps";
import { CniProviderSettings } from "../components/network/providers/schema";
import { HelmValues, PROVIDER_RELEASES, ProviderRelease, providerValues } from "../components/network/providers/values";
import { classInputs, planRuntimeClasses, RuntimeClassSpec } from "../components/runtime/runtime-class-plan";

/** What one pool's runtime renders to; shared by every node of the pool. */
export interface PoolRuntimePlan {
  readonly pool: PoolConfig;
  readonly description: string;
  readonly runtimeEndpoint: string;
  readonly configHash: string;
  /** Handler names the pool's runtime knows: what a RuntimeClass may point at. */
  readonly handlers: readonly string[];
  /** The node steps of one node of the pool, in dependency order. */
  readonly steps: (node: StepNode & { readonly arch: Arch }) => StepDefinition[];
  readonly containerd?: RenderedContainerd;
  readonly crio?: RenderedCrio;
}

export interface NodePlan {
  readonly node: NodeConfig;
  readonly pool: PoolConfig;
  readonly ssh: SshInput;
  /** In an order that respects `dependsOn`. */
  readonly steps: readonly NodeStepSpec[];
}

export interface ClusterPlan {
  readonly stack: string;
  readonly pools: readonly PoolRuntimePlan[];
  readonly nodes: readonly NodePlan[];
  /** Cluster objects, applied through the Kubernetes API after the node steps they depend on. */
  readonly runtimeClasses: readonly RuntimeClassSpec[];
  readonly cniProvider?: { readonly settings: CniProviderSettings; readonly release: ProviderRelease; readonly values: HelmValues };
}

/** Renders every node step of a validated stack. Pure: no I/O, no Pulumi. */
export function planCluster(config: StackConfig): ClusterPlan {
  const { cluster } = config;
  const pools = cluster.pools.map((pool) => planPoolRuntime(pool, config));
  const byName = new Map(pools.map((p) => [p.pool.name, p]));
  const nodes = cluster.nodes.map((node) => {
    const runtime = byName.get(node.pool)!;
    return {
      node,
      pool: runtime.pool,
      ssh: effectiveSsh(cluster, node),
      steps: [
        ...runtime.steps({ name: node.name, arch: node.arch }),
        ...(config.networkManaged ? networkSteps(config.network, { name: node.name, arch: node.arch, pool: node.pool, podCIDR: node.podCIDR }, cluster.downloads) : []),
      ].map(buildNodeStep),
    };
  });
  const classes = classInputs(cluster);
  const runtimeClasses = planRuntimeClasses(classes.pools, classes.nodes, cluster.runtimeClasses).classes;
  const provider = config.networkManaged ? config.network.provider : undefined;
  return {
    stack: config.stack,
    pools,
    nodes,
    runtimeClasses,
    ...(provider ? { cniProvider: { settings: provider, release: PROVIDER_RELEASES[provider.kind], values: providerValues(provider) } } : {}),
  };
}

function planPoolRuntime(pool: PoolConfig, config: StackConfig): PoolRuntimePlan {
  const runtime = pool.runtime;
  const context = { pool: pool.name, cgroupDriver: config.cluster.kubelet.cgroupDriver, cni: config.network.cni };
  const downloads = config.cluster.downloads;
  switch (runtime.kind) {
    case "containerd": {
      const rendered = renderContainerd(runtime, context);
      return {
        pool,
        description: `containerd ${runtime.version} (config version ${rendered.features.configVersion})`,
        runtimeEndpoint: rendered.runtimeEndpoint,
        configHash: rendered.configHash,
        handlers: Object.keys(runtime.runtimes),
        steps: (node) => containerdSteps({ node, config: runtime, rendered, downloads }),
        containerd: rendered,
      };
    }
    case "crio": {
      const rendered = renderCrio(runtime, context);
      return {
        pool,
        description: `CRI-O ${runtime.version}`,
        runtimeEndpoint: rendered.runtimeEndpoint,
        configHash: rendered.configHash,
        handlers: Object.keys(runtime.runtimes),
        steps: (node) => crioSteps({ node, config: runtime, rendered, downloads }),
        crio: rendered,
      };
    }
    default: {
      const never: never = runtime;
      throw new Error(`unhandled runtime kind ${JSON.stringify(never)}`);
    }
  }
}
