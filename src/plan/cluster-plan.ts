import { ClusterConfig, NodeConfig, PoolConfig, SshInput } from "../config/cluster";
import { effectiveSsh } from "../config/cluster-checks";
import { StackConfig } from "../config/stack";
import { RenderedContainerd, renderContainerd } from "../components/runtime/containerd-render";
import { containerdSteps } from "../components/runtime/containerd-steps";
import { buildNodeStep, NodeStepSpec, StepDefinition } from "../components/node/step";

/** What one pool's runtime renders to; shared by every node of the pool. */
export interface PoolRuntimePlan {
  readonly pool: PoolConfig;
  readonly description: string;
  readonly runtimeEndpoint: string;
  readonly configHash: string;
  readonly containerd?: RenderedContainerd;
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
      steps: nodeStepDefinitions(node, runtime, cluster).map(buildNodeStep),
    };
  });
  return { stack: config.stack, pools, nodes };
}

function planPoolRuntime(pool: PoolConfig, config: StackConfig): PoolRuntimePlan {
  const runtime = pool.runtime;
  switch (runtime.kind) {
    case "containerd": {
      const rendered = renderContainerd(runtime, {
        pool: pool.name,
        cgroupDriver: config.cluster.kubelet.cgroupDriver,
        cni: config.network.cni,
      });
      return {
        pool,
        description: `containerd ${runtime.version} (config version ${rendered.features.configVersion})`,
        runtimeEndpoint: rendered.runtimeEndpoint,
        configHash: rendered.configHash,
        containerd: rendered,
      };
    }
    default: {
      const never: never = runtime.kind;
      throw new Error(`unhandled runtime kind ${String(never)}`);
    }
  }
}

function nodeStepDefinitions(node: NodeConfig, runtime: PoolRuntimePlan, cluster: ClusterConfig): StepDefinition[] {
  const stepNode = { name: node.name, arch: node.arch };
  const pool = runtime.pool;
  switch (pool.runtime.kind) {
    case "containerd":
      return containerdSteps({ node: stepNode, config: pool.runtime, rendered: runtime.containerd!, downloads: cluster.downloads });
    default: {
      const never: never = pool.runtime.kind;
      throw new Error(`unhandled runtime kind ${String(never)}`);
    }
  }
}
