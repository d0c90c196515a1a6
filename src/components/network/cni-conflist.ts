import { ConflistConfig } from "../../config/cni-conflist";
import { NetworkConfig } from "../../config/network";
import { conflistTypes } from "../../config/network-checks";
import { RenderedFile } from "../node/files";
import { scriptAsset } from "../node/shell";
import { StepDefinition, StepNode } from "../node/step";
import { CNI_PLUGINS_STEP } from "./cni-plugins";
import { PROVIDER_RELEASES } from "../../catalog/cni-providers";

export const CNI_CONFLIST_STEP = "cni-conflist";

/** A node as the conflist renderer sees it: its pool decides which lists apply, its podCIDR fills host-local. */
export interface ConflistNode extends StepNode {
  readonly pool: string;
  readonly podCIDR?: string | undefined;
}

export function conflistPath(confDir: string, list: ConflistConfig): string {
  return `${confDir}/${String(list.priority).padStart(2, "0")}-${list.name}.conflist`;
}

/**
 * The lists that apply to a node, as the JSON the runtime reads. kubeplug's own fields (priority,
 * pools) stay out of the file; host-local without ranges gets the node's pod subnet.
 */
export function renderConflists(network: NetworkConfig, node: ConflistNode): RenderedFile[] {
  return network.cni.conflists
    .filter((list) => !list.pools || list.pools.includes(node.pool))
    .sort((a, b) => conflistPath("", a).localeCompare(conflistPath("", b)))
    .map((list) => {
      const { priority: _priority, pools: _pools, plugins, ...top } = list;
      const body = { ...top, plugins: plugins.map((plugin) => withNodeRanges(plugin, node)) };
      return { path: conflistPath(network.cni.confDir, list), content: `${JSON.stringify(body, null, 2)}\n`, mode: 0o644 };
    });
}

function withNodeRanges(plugin: Record<string, unknown>, node: ConflistNode): Record<string, unknown> {
  const ipam = plugin.ipam as { type?: string; ranges?: unknown } | undefined;
  if (ipam?.type !== "host-local" || ipam.ranges || !node.podCIDR) return plugin;
  return { ...plugin, ipam: { ...ipam, ranges: [[{ subnet: node.podCIDR }]] } };
}

/**
 * Writes the node's lists into confDir and removes lists kubeplug wrote before that the stack no
 * longer has. Before any write it checks that every plugin binary is in binDir and that no other
 * file sorts before kubeplug's first list (the runtime would use that one instead).
 */
export function cniConflistStep(network: NetworkConfig, node: ConflistNode): StepDefinition {
  const files = renderConflists(network, node);
  const lists = network.cni.conflists.filter((list) => !list.pools || list.pools.includes(node.pool));
  return {
    node,
    id: CNI_CONFLIST_STEP,
    phase: "configure",
    summary: network.provider
      ? `none: ${network.provider.kind} writes ${PROVIDER_RELEASES[network.provider.kind].conflistName}; kubeplug's earlier lists are removed`
      : files.length > 0
        ? `${files.map((f) => f.path.split("/").pop()).join(", ")} in ${network.cni.confDir}`
        : `no kubeplug conflist in ${network.cni.confDir}; stale ones are removed`,
    vars: {
      KP_CNI_CONF_DIR: network.cni.confDir,
      KP_CNI_BIN_DIR: network.cni.binDir,
      KP_CONFLISTS: files.map((f) => f.path),
      KP_PLUGIN_TYPES: [...new Set(lists.flatMap(conflistTypes))].sort(),
    },
    files,
    body: [scriptAsset(__dirname, "cni-conflist.sh")],
    dependsOn: [CNI_PLUGINS_STEP],
  };
}
