import * as pulumi from "@pulumi/pulumi";
import { ComponentNode, ComponentPlan, RuntimeComponentSettings } from "../../plan/component-plans";
import { PoolRuntimePlan } from "../../plan/runtime-plan";
import { connectPlanned, createNodeSteps, NodeLibraries, NodeStep, PlannedNode, warnAll } from "../node/node-step";
import { NodeConnection } from "../node/connection";
import { SecretValues, secretPayload } from "../node/secret-payload";

/** A host a runtime is installed on. */
export interface RuntimeNode extends ComponentNode {
  /** Node name: names the node steps and appears in every error about the node. */
  readonly name: string;
  /** How kubeplug reaches the node over SSH; its host key is pinned or the check is explicitly skipped. */
  readonly connection: NodeConnection;
}

/** Arguments every runtime component takes besides its own config. */
export interface RuntimeArgsBase extends Omit<RuntimeComponentSettings, "config"> {
  /** The hosts the runtime is installed on; each gets its own node steps. */
  readonly nodes: readonly RuntimeNode[];
  /** Secret values by reference id (`config:<key>` or `env:<NAME>`, see secretRefId). */
  readonly secrets?: SecretValues;
}

/** A pool runtime planCluster has already validated and planned: what Cluster passes. */
export interface PlannedRuntimeArgs {
  /** One pool's runtime from planCluster, with the pool's nodes, their steps and connections. */
  readonly fromPlan: { readonly runtime: PoolRuntimePlan; readonly nodes: readonly PlannedNode[] };
  /** Secret values by reference id (`config:<key>` or `env:<NAME>`, see secretRefId). */
  readonly secrets?: SecretValues;
}

/** Plans a component's own Args (validated once, here) or takes the plan Cluster hands over. */
export function plannedRuntime<Args extends RuntimeArgsBase>(
  args: Args | PlannedRuntimeArgs,
  plan: (args: Args) => ComponentPlan<PoolRuntimePlan>,
): PlannedRuntimeArgs & { readonly warnings: ComponentPlan<PoolRuntimePlan>["warnings"] } {
  if ("fromPlan" in args) return { ...args, warnings: [] };
  const planned = plan(args);
  return {
    fromPlan: { runtime: planned.piece, nodes: connectPlanned(planned.nodes, args.nodes) },
    ...(args.secrets ? { secrets: args.secrets } : {}),
    warnings: planned.warnings,
  };
}

/** What every runtime component exposes: the kubelet's endpoint, a config hash, its handlers and node steps. */
export abstract class PoolRuntimeComponent extends pulumi.ComponentResource {
  /** The kubelet's `containerRuntimeEndpoint`. */
  readonly runtimeEndpoint: pulumi.Output<string>;
  /** Changes exactly when a node's runtime files change. */
  readonly configHash: pulumi.Output<string>;
  /** Handler names this runtime knows: what a RuntimeClass may point at. */
  readonly handlers: readonly string[];
  /** Per node, its steps in dependency order; the last one (configure) is what dependents wait for. */
  readonly nodeSteps: Readonly<Record<string, readonly NodeStep[]>>;
  readonly plan: PoolRuntimePlan;

  protected constructor(type: string, name: string, planned: ReturnType<typeof plannedRuntime>, opts: pulumi.ComponentResourceOptions | undefined) {
    super(type, name, {}, opts);
    warnAll(planned.warnings, this);
    const { runtime, nodes } = planned.fromPlan;
    const stdin = runtime.stdin ? secretPayload(runtime.stdin.refs, planned.secrets ?? {}, runtime.stdin.render) : undefined;
    this.plan = runtime;
    this.handlers = runtime.handlers;
    const libraries = new NodeLibraries(`${name}-`, this);
    this.nodeSteps = Object.fromEntries(nodes.map((node) => [node.name, createNodeSteps(node, stdin, this, libraries)]));
    this.runtimeEndpoint = pulumi.output(runtime.runtimeEndpoint);
    this.configHash = pulumi.output(runtime.configHash);
    this.registerOutputs({ runtimeEndpoint: this.runtimeEndpoint, configHash: this.configHash });
  }
}
