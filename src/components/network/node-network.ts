import * as pulumi from "@pulumi/pulumi";
import { DownloadsInput, NetworkInput } from "../../config/input-types";
import { NetworkComponentNode, planNetworkComponent } from "../../plan/component-plans";
import { NodeConnection } from "../node/connection";
import { connectPlanned, createNodeSteps, NodeLibraries, NodeStep, PlannedNode, warnAll } from "../node/node-step";

/** A host that gets CNI plugins and conflists. */
export interface NetworkNode extends NetworkComponentNode {
  /** Node name: names the node steps and appears in every error about the node. */
  readonly name: string;
  /** How kubeplug reaches the node over SSH; its host key is pinned or the check is explicitly skipped. */
  readonly connection: NodeConnection;
}

export interface NodeNetworkArgs {
  /** The hosts that get the CNI plugins and conflists; each gets its own node steps. */
  readonly nodes: readonly NetworkNode[];
  /** The same shape as `kubeplug:network` in a stack file. */
  readonly config: NetworkInput;
  /** As `kubeplug:cluster.downloads`. */
  readonly downloads?: DownloadsInput;
}

/** A network planCluster has already validated and planned: what Cluster passes. */
export interface PlannedNetworkArgs {
  readonly fromPlan: { readonly nodes: readonly PlannedNode[] };
}

/** Validates and plans the arguments as a stack's `kubeplug:network` is; errors are rooted at `network`. */
export function planNetworkArgs(args: NodeNetworkArgs) {
  return planNetworkComponent(args.nodes, args);
}

/**
 * CNI on a set of nodes: the reference plugin binaries kubeplug owns in binDir, then the network
 * configuration lists in confDir. A provider that writes its own list takes the place of the lists.
 */
export class NodeNetwork extends pulumi.ComponentResource {
  readonly nodeSteps: Readonly<Record<string, readonly NodeStep[]>>;

  constructor(name: string, args: NodeNetworkArgs | PlannedNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    const planned = "fromPlan" in args ? { nodes: args.fromPlan.nodes, warnings: [] } : plannedNetwork(args);
    super("kubeplug:network:NodeNetwork", name, {}, opts);
    warnAll(planned.warnings, this);
    const libraries = new NodeLibraries(`${name}-`, this);
    this.nodeSteps = Object.fromEntries(planned.nodes.map((node) => [node.name, createNodeSteps(node, undefined, this, libraries)]));
    this.registerOutputs({});
  }
}

function plannedNetwork(args: NodeNetworkArgs) {
  const planned = planNetworkArgs(args);
  return { nodes: connectPlanned(planned.nodes, args.nodes), warnings: planned.warnings };
}
