import { Arch, DownloadSettings } from "../catalog/artifacts";
import { containerdFeatures } from "../catalog/containerd-features";
import { cidrContains, firstOverlaps, isNetworkAddress, parseCidr } from "../util/cidr";
import { CHAINED_TYPES, ConflistConfig, hostBitsMessage, MIN_SPEC, REFERENCE_PLUGIN_TYPES } from "./cni-conflist";
import { versionAtLeast } from "../util/version";
import { Locator } from "./findings";
import { NetworkConfig, pluginsMaxSpec, pluginsOfVersion } from "./network";
import { requireArtifact } from "./runtime-checks";
import { PROVIDER_RELEASES } from "../catalog/cni-providers";
import { unknownNameMessage } from "./suggest";

/** Binaries a list needs in binDir: every plugin type and every IPAM type. */
export function conflistTypes(list: ConflistConfig): string[] {
  const types = new Set<string>();
  for (const plugin of list.plugins) {
    types.add(plugin.type);
    const ipam = plugin.ipam as { type?: string } | undefined;
    if (ipam?.type) types.add(ipam.type);
  }
  return [...types];
}

/** Which pools a list applies to. */
export function conflistPools(list: ConflistConfig, cluster: NetworkCluster): string[] {
  return list.pools ?? cluster.pools.map((p) => p.name);
}

/** Plugin binaries the provider writes itself: kubeplug neither installs nor removes them. */
export function providerBinaries(network: NetworkConfig): readonly string[] {
  return network.provider ? PROVIDER_RELEASES[network.provider.kind].binaries : [];
}

/** Plugins kubeplug installs and owns in binDir. */
export function wantedPlugins(network: NetworkConfig): string[] {
  const install = network.cni.plugins.install;
  if (install.from === "none") return [];
  const providerOwned = providerBinaries(network);
  return (network.cni.plugins.wanted ?? pluginsOfVersion(install.version).filter((p) => !providerOwned.includes(p)));
}

/** What the network checks need to know of the cluster; a NetworkCluster is one. */
export interface NetworkCluster {
  readonly pools: readonly { readonly name: string; readonly runtime?: { readonly kind: string; readonly version: string } }[];
  readonly nodes: readonly { readonly name: string; readonly pool: string; readonly arch: string; readonly podCIDR?: string | undefined }[];
  readonly downloads: DownloadSettings;
}

/** Cross-field checks of the network section against the cluster. */
export function checkNetwork(network: NetworkConfig, cluster: NetworkCluster, at: Locator, clusterAt: Locator): void {
  const cni = at.child("cni");
  const install = network.cni.plugins.install;
  const arches = [...new Set(cluster.nodes.map((n) => n.arch as Arch))];
  if (install.from === "release") {
    requireArtifact(cni.child("plugins", "install", "version"), "cni-plugins", install.version, { arches, downloads: cluster.downloads });
  }
  const shipped = pluginsOfVersion(install.version);
  (network.cni.plugins.wanted ?? []).forEach((name, i) => {
    if (!shipped.includes(name)) cni.child("plugins", "wanted", i).problem(`"${name}" is not in CNI plugins ${install.version} (it came later)`);
  });
  const available = new Set([...wantedPlugins(network), ...network.cni.plugins.external, ...providerBinaries(network)]);
  checkProvider(network, at);
  const podCIDR = network.podCIDR ? parseCidr(network.podCIDR) : undefined;
  const poolNames = cluster.pools.map((p) => p.name);

  const files = new Map<string, number>();
  network.cni.conflists.forEach((list, i) => {
    const here = cni.child("conflists", i);
    const file = `${list.priority}-${list.name}.conflist`;
    if (files.has(file)) here.child("name").problem(`${file} is also written by conflists[${files.get(file)}]`);
    files.set(file, i);
    (list.pools ?? []).forEach((pool, j) => {
      if (!poolNames.includes(pool)) here.child("pools", j).problem(unknownNameMessage("pool", pool, poolNames));
    });
    checkPluginChain(list, here);
    checkVersions(list, here, install.version, cluster, available);
    for (const type of conflistTypes(list)) {
      if (!available.has(type)) {
        here.problem(
          `plugin "${type}" would not be in ${network.cni.binDir}: kubeplug installs ${[...wantedPlugins(network)].sort().join(", ") || "no plugins"}; add it to cni.plugins.wanted, or to cni.plugins.external if something else installs it`,
        );
      }
    }
    checkRanges(list, here, podCIDR, cluster);
  });
  checkNodeSubnets(cluster, podCIDR, clusterAt);
}

/** Interface plugins create the pod's interface; meta plugins only act on a previous result. */
function checkPluginChain(list: ConflistConfig, at: Locator): void {
  const first = list.plugins[0]!;
  if (CHAINED_TYPES.has(first.type)) {
    at.child("plugins", 0, "type").problem(`"${first.type}" works on a previous plugin's result, so it cannot come first; put an interface plugin such as bridge before it`);
  }
  const seen = new Map<string, number>();
  list.plugins.forEach((plugin, i) => {
    const earlier = seen.get(plugin.type);
    if (earlier !== undefined && (REFERENCE_PLUGIN_TYPES as readonly string[]).includes(plugin.type)) {
      at.child("plugins", i, "type").problem(`"${plugin.type}" is already plugins[${earlier}]; a list runs each plugin on the same interface, so a second one would undo or repeat the first`);
    }
    seen.set(plugin.type, i);
    if (plugin.type === "bandwidth") {
      for (const [rate, burst] of [["ingressRate", "ingressBurst"], ["egressRate", "egressBurst"]] as const) {
        if ((plugin[rate] === undefined) !== (plugin[burst] === undefined)) {
          at.child("plugins", i).problem(`${rate} and ${burst} must be set together (the bandwidth plugin refuses one without the other)`);
        }
      }
    }
  });
}

function checkVersions(list: ConflistConfig, at: Locator, pluginsVersion: string | undefined, cluster: NetworkCluster, available: ReadonlySet<string>): void {
  const max = pluginsMaxSpec(pluginsVersion);
  if (!versionAtLeast(max, list.cniVersion) && list.plugins.some((p) => available.has(p.type))) {
    at.child("cniVersion").problem(`"${list.cniVersion}" is newer than CNI plugins ${pluginsVersion ?? "(version unknown)"} speak (up to ${max}); use 1.0.0`);
  }
  list.plugins.forEach((plugin, i) => {
    const min = MIN_SPEC[plugin.type];
    if (min && !versionAtLeast(list.cniVersion, min)) at.child("plugins", i, "type").problem(`"${plugin.type}" needs cniVersion ${min} or later; this list says ${list.cniVersion}`);
  });
  if (list.cniVersion === "1.1.0") {
    for (const pool of cluster.pools.filter((p) => (list.pools ?? [p.name]).includes(p.name))) {
      const runtime = pool.runtime;
      const features = runtime?.kind === "containerd" ? containerdFeatures(runtime.version) : undefined;
      if (features && features.configVersion === 2) {
        at.child("cniVersion").problem(`pool ${pool.name} runs containerd ${runtime!.version}, whose libcni reads results up to 1.0.0; use 1.0.0`);
      }
    }
  }
}

/** Explicit host-local ranges: inside the pod CIDR, and not shared between lists of different pools. */
function checkRanges(list: ConflistConfig, at: Locator, podCIDR: ReturnType<typeof parseCidr>, cluster: NetworkCluster): void {
  list.plugins.forEach((plugin, i) => {
    const ipam = plugin.ipam as { type?: string; ranges?: { subnet: string }[][] } | undefined;
    if (ipam?.type !== "host-local") return;
    if (!ipam.ranges) {
      for (const node of cluster.nodes.filter((n) => conflistPools(list, cluster).includes(n.pool))) {
        if (!node.podCIDR) {
          at.child("plugins", i, "ipam").problem(`host-local without ranges takes each node's podCIDR, but node ${node.name} has none; set nodes[].podCIDR or give explicit ranges`);
          return;
        }
      }
      return;
    }
    ipam.ranges.forEach((set, r) =>
      set.forEach((range, k) => {
        const subnet = parseCidr(range.subnet)!;
        if (podCIDR && !cidrContains(podCIDR, subnet)) {
          at.child("plugins", i, "ipam", "ranges", r, k, "subnet").problem(`"${range.subnet}" is outside kubeplug:network.podCIDR ${podCIDR.text}`);
        }
      }),
    );
    const nodes = cluster.nodes.filter((n) => conflistPools(list, cluster).includes(n.pool));
    if (nodes.length > 1) {
      at.child("plugins", i, "ipam", "ranges").warn(
        `the same ranges on ${nodes.length} nodes (${nodes.map((n) => n.name).join(", ")}) give pods on different nodes the same addresses; leave ranges out to use each node's podCIDR`,
      );
    }
  });
}

/** Node pod subnets: valid network addresses (host-local takes them as its range), inside the pod CIDR, and never overlapping another node's. */
function checkNodeSubnets(cluster: NetworkCluster, podCIDR: ReturnType<typeof parseCidr>, clusterAt: Locator): void {
  const parsed = cluster.nodes.map((node) => (node.podCIDR ? parseCidr(node.podCIDR) : undefined));
  const withSubnet = parsed.flatMap((cidr, i) => (cidr ? [i] : []));
  const clashes = new Map<number, number>();
  firstOverlaps(withSubnet.map((i) => parsed[i]!)).forEach((first, k) => {
    if (first !== undefined) clashes.set(withSubnet[k]!, withSubnet[first]!);
  });
  cluster.nodes.forEach((node, i) => {
    if (!node.podCIDR) return;
    const here = clusterAt.child("nodes", i, "podCIDR");
    const cidr = parsed[i];
    if (!cidr) return here.problem(`"${node.podCIDR}" is not a CIDR such as "10.244.1.0/24"`);
    if (!isNetworkAddress(cidr)) here.problem(hostBitsMessage(node.podCIDR));
    if (podCIDR && !cidrContains(podCIDR, cidr)) here.problem(`"${node.podCIDR}" is outside kubeplug:network.podCIDR ${podCIDR.text}`);
    const clash = clashes.get(i);
    if (clash !== undefined) here.problem(`"${node.podCIDR}" overlaps nodes[${clash}].podCIDR ${parsed[clash]!.text} (${cluster.nodes[clash]!.name}, pool ${cluster.nodes[clash]!.pool})`);
  });
}

/** A provider writes the node's network configuration itself; kubeplug's side must not compete with it. */
function checkProvider(network: NetworkConfig, at: Locator): void {
  const provider = network.provider;
  if (!provider) return;
  const release = PROVIDER_RELEASES[provider.kind];
  if (network.cni.conflists.length > 0) {
    at.child("cni", "conflists").problem(
      `${provider.kind} writes its own ${release.conflistName} on every node, so kubeplug writes no conflist next to it; remove these lists or the provider`,
    );
  }
  if (network.podCIDR && provider.podCIDR !== network.podCIDR) {
    at.child("provider", "podCIDR").problem(`"${provider.podCIDR}" differs from kubeplug:network.podCIDR "${network.podCIDR}"`);
  }
  (network.cni.plugins.wanted ?? []).forEach((name, i) => {
    if (release.binaries.includes(name)) {
      at.child("cni", "plugins", "wanted", i).problem(`${provider.kind} overwrites ${name} in the bin dir on every node; leave it to the provider`);
    }
  });
}
