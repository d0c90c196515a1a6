import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { Arch } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { Findings } from "../../config/findings";
import { NetworkConfig, networkConfig } from "../../config/network";
import { checkNetwork } from "../../config/network-checks";
import { zodProblems } from "../../config/zod";
import { KubeplugConfigError } from "../../errors";
import { NodeConnection } from "../node/connection";
import { createStepsForNodes, NodeStep } from "../node/node-step";
import { networkSteps } from "./network-steps";

export interface NetworkNode {
  readonly name: string;
  readonly arch?: Arch;
  /** Pool name: conflists may be limited to pools. */
  readonly pool?: string;
  /** The node's pod subnet; host-local IPAM without ranges allocates from it. */
  readonly podCIDR?: string;
  readonly connection: NodeConnection;
}

export interface NodeNetworkArgs {
  readonly nodes: readonly NetworkNode[];
  /** The same shape as `kubeplug:network` in a stack file. */
  readonly config: z.input<typeof networkConfig>;
  readonly downloads?: Partial<DownloadsConfig>;
}

/** Parses and checks the arguments as a stack's `kubeplug:network` is checked; errors are rooted at `network`. */
export function validateNetworkArgs(args: NodeNetworkArgs): { config: NetworkConfig; downloads: DownloadsConfig } {
  const parsed = networkConfig.safeParse(args.config, { reportInput: true });
  if (!parsed.success) throw new KubeplugConfigError(zodProblems("network", parsed.error));
  const downloads: DownloadsConfig = {
    baseUrls: args.downloads?.baseUrls ?? {},
    checksums: args.downloads?.checksums ?? {},
    cacheDir: args.downloads?.cacheDir ?? "/var/cache/kubeplug/downloads",
  };
  const nodes = args.nodes.map((n) => ({ name: n.name, pool: n.pool ?? "default", arch: n.arch ?? "amd64", podCIDR: n.podCIDR }));
  const pools = [...new Set(nodes.map((n) => n.pool))].map((name) => ({ name }));
  const findings = new Findings();
  checkNetwork(parsed.data, { pools, nodes, downloads }, findings.at("network"), findings.at("nodes"));
  if (findings.problems.length > 0) throw new KubeplugConfigError(findings.problems);
  for (const w of findings.warnings) pulumi.log.warn(`${w.path}: ${w.message}`);
  return { config: parsed.data, downloads };
}

/**
 * CNI on a set of nodes: the reference plugin binaries kubeplug owns in binDir, then the network
 * configuration lists in confDir. A provider that writes its own list takes the place of the lists.
 */
export class NodeNetwork extends pulumi.ComponentResource {
  readonly nodeSteps: Readonly<Record<string, readonly NodeStep[]>>;

  constructor(name: string, args: NodeNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:network:NodeNetwork", name, {}, opts);
    const { config, downloads } = validateNetworkArgs(args);
    const byName = new Map(args.nodes.map((n) => [n.name, n]));
    this.nodeSteps = createStepsForNodes(
      this,
      args.nodes,
      (node) => {
        const spec = byName.get(node.name)!;
        return networkSteps(config, { ...node, pool: spec.pool ?? "default", podCIDR: spec.podCIDR }, downloads);
      },
      undefined,
    );
    this.registerOutputs({});
  }
}
