import { z } from "zod";
import { isNetworkAddress, networkText, parseCidr, parseIp } from "../util/cidr";
import { describeValue } from "./path";
import { strictObject } from "./zod";

/**
 * CNI network configuration lists (spec 1.0.0 and 1.1.0, containernetworking/cni SPEC.md at
 * spec-v1.0.0 / spec-v1.1.0) with typed configs for the reference plugins (containernetworking/plugins
 * v1.9.1 NetConf structs; see ../shared/research/cni.md A4). Other plugin types pass through with the
 * spec's common fields checked.
 */

export const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const CNI_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

const cidr = z.string().refine((v) => parseCidr(v) !== undefined, {
  error: (issue) => `${describeValue(issue.input)} is not a CIDR such as "10.244.0.0/24"`,
});
/** host-local refuses a subnet with host bits set: an explicit range and a node's podCIDR are refused alike. */
export const hostBitsMessage = (text: string): string => `${describeValue(text)} has host bits set; host-local wants the network address ("${networkText(parseCidr(text)!)}")`;
const networkCidr = cidr.refine((v) => isNetworkAddress(parseCidr(v)!), { error: (issue) => hostBitsMessage(issue.input as string) });
const ip = z.string().refine((v) => parseIp(v) !== undefined, { error: (issue) => `${describeValue(issue.input)} is not an IP address` });
const mtu = z.number().int().min(68).max(65535);
const uint64 = z.number().int().min(0);

const route = strictObject({
  dst: cidr.describe("Destination network of the route."),
  gw: ip.optional().describe("Next hop; default: the range's gateway."),
});
const dns = strictObject({
  nameservers: z.array(ip).optional().describe("DNS servers, in order of preference."),
  domain: z.string().optional().describe("Local domain used for short-name lookups."),
  search: z.array(z.string()).optional().describe("Search domains, in order."),
  options: z.array(z.string()).optional().describe("Resolver options such as ndots:5."),
});

const rangeStart = ip.optional().describe("First address handed out; default: the one after the gateway (.2 of a /24).");
const rangeEnd = ip.optional().describe("Last address handed out; default: the last before the broadcast address.");
const gateway = ip.optional().describe("Gateway address; default: the subnet's first address (.1).");
const hostLocalRange = strictObject({ subnet: networkCidr.describe("Subnet to allocate from (network address)."), rangeStart, rangeEnd, gateway });

/**
 * host-local: `ranges` omitted means "this node's pod subnet" (nodes[].podCIDR), filled in per node,
 * because each node needs its own range for addresses to stay unique across the cluster.
 */
const hostLocal = strictObject({
  type: z.literal("host-local"),
  ranges: z.array(z.array(hostLocalRange).min(1)).min(1).optional().describe("Range sets: one address per set per pod (one set per IP family). Default: the node's podCIDR."),
  // The single-range form from before `ranges`; host-local still reads it (prepended to ranges).
  subnet: networkCidr.optional().describe("Single-range form (before `ranges`); host-local prepends it to ranges."),
  rangeStart,
  rangeEnd,
  gateway,
  routes: z.array(route).optional().describe("Routes added inside the pod."),
  dataDir: z.string().startsWith("/").optional().describe("Where host-local records allocations; default /var/lib/cni/networks."),
  resolvConf: z.string().startsWith("/").optional().describe("A resolv.conf whose servers, domain and search become the result's DNS."),
});
const staticIpam = strictObject({
  type: z.literal("static"),
  addresses: z.array(strictObject({ address: cidr.describe("Address with prefix length, e.g. 10.10.0.5/24."), gateway: ip.optional().describe("Gateway for this address.") })).optional().describe("Fixed addresses the interface gets."),
  routes: z.array(route).optional().describe("Routes added inside the pod."),
  dns: dns.optional().describe("DNS settings returned in the result."),
});
const dhcp = strictObject({
  type: z.literal("dhcp"),
  daemonSocketPath: z.string().startsWith("/").optional().describe("Socket of the dhcp daemon (`dhcp daemon`), which must run on the node; default /run/cni/dhcp.sock."),
  request: z.array(strictObject({ option: z.string().optional().describe("DHCP option name or number."), skipDefault: z.boolean().optional().describe("Do not request the daemon's default options.") })).optional().describe("Options to request from the DHCP server."),
  provide: z.array(strictObject({ option: z.string().describe("DHCP option name or number."), value: z.string().optional().describe("Value to send."), fromArg: z.string().optional().describe("Take the value from this CNI_ARGS key.") })).optional().describe("Options to send to the DHCP server."),
  priority: z.number().int().optional().describe("The dhcp plugin's `priority` setting (plugins v1.6.0+), passed through."),
});
export const TYPED_IPAM: Record<string, z.ZodType> = { "host-local": hostLocal, static: staticIpam, dhcp };

/** Parses `value` with the typed schema for its `type`, or `fallback` for types kubeplug does not model. */
function byType(typed: Record<string, z.ZodType>, fallback: z.ZodType, what: string) {
  return z
    .object({
      type: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
        error: (issue) => `${describeValue(issue.input)} is not ${what}: a binary name in the CNI bin dir, without "/"`,
      }).describe(`Which plugin runs: ${what}, the name of its binary in binDir. Reference plugins are typed; others pass through with the spec's common fields checked.`),
    })
    .catchall(z.unknown())
    .transform((value, ctx) => {
      const parsed = (typed[value.type] ?? fallback).safeParse(value, { reportInput: true });
      if (parsed.success) return parsed.data as Record<string, unknown> & { type: string };
      for (const issue of parsed.error.issues) ctx.issues.push(issue as never);
      return z.NEVER;
    });
}

/** IPAM: host-local, static and dhcp are typed; other IPAM plugins (whereabouts, calico-ipam) pass through. */
export const ipamConfig = byType(TYPED_IPAM, z.object({ type: z.string() }).catchall(z.unknown()), "an IPAM plugin type");
export type IpamConfig = z.output<typeof ipamConfig>;

/** bridge's `ipam: {}` asks for layer 2 only; kept as written, anything else is an IPAM config. */
const layer2OrIpam = z.unknown().transform((value, ctx): IpamConfig | Record<string, never> => {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0) return {};
  const parsed = ipamConfig.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.issues.push(issue as never);
  return z.NEVER;
});
export type HostLocalIpam = z.output<typeof hostLocal>;

const capabilities = z.record(z.string(), z.boolean()).describe("Runtime capabilities the plugin accepts (portMappings, bandwidth, ips, mac, ...); the runtime passes their values in runtimeConfig.");
/** Keys the runtime owns: a plugin object in a file must not carry them (SPEC.md "reserved"). */
const RESERVED = ["runtimeConfig", "args", "prevResult"];
const reservedMessage = (key: string) => `"${key}" is reserved for the runtime; a network configuration must not set it`;

/** A reference plugin's config: its own keys plus those the spec defines for every plugin object. */
function pluginObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return strictObject(
    { ...shape, capabilities: capabilities.optional(), dns: dns.optional().describe("DNS settings the plugin returns (the spec's common field).") },
    Object.fromEntries(RESERVED.map((key) => [key, reservedMessage(key)])),
  );
}

// Field meanings follow each plugin's NetConf and docs in containernetworking/plugins v1.9.1.
const ipMasq = z.boolean().optional().describe("Masquerade traffic leaving the pod network for other destinations.");
const ipMasqBackend = z.enum(["iptables", "nftables"]).optional().describe("Which tool installs the masquerade rules; default: iptables unless only nftables is present.");
const interfaceMtu = mtu.optional().describe("MTU of the interface; default: the kernel's (1500 or the parent's).");
const ipam = ipamConfig.describe("IPAM plugin and its settings: how the interface gets its addresses.");
const master = z.string().describe("Host interface the pod's interface is created on.");
const linkInContainer = z.boolean().optional().describe("The master interface is inside the pod's namespace, not the host's.");
const vlanId = z.number().int().min(1).max(4094);

const bridge = pluginObject({
  type: z.literal("bridge"),
  bridge: z.string().min(1).max(15).optional().describe("Name of the host bridge, created if missing; default cni0."),
  isGateway: z.boolean().optional().describe("Give the bridge the gateway address, so pods can route through the host."),
  isDefaultGateway: z.boolean().optional().describe("Also add a default route via the bridge in the pod (implies isGateway)."),
  forceAddress: z.boolean().optional().describe("Replace the bridge's address when the gateway address changes."),
  ipMasq,
  ipMasqBackend,
  mtu: interfaceMtu,
  hairpinMode: z.boolean().optional().describe("Let a pod reach itself through its own Service address (hairpin on the bridge port)."),
  promiscMode: z.boolean().optional().describe("Put the bridge in promiscuous mode."),
  vlan: z.number().int().min(0).max(4094).optional().describe("VLAN tag of the pod's bridge port."),
  macspoofchk: z.boolean().optional().describe("Drop frames whose source MAC is not the pod interface's."),
  enabledad: z.boolean().optional().describe("Run IPv6 duplicate address detection on the pod interface."),
  portIsolation: z.boolean().optional().describe("Isolate pod ports from each other on the bridge."),
  vlanTrunk: z
    .array(z.union([strictObject({ id: vlanId.describe("One VLAN id.") }), strictObject({ minID: vlanId.describe("First VLAN id of a range."), maxID: vlanId.describe("Last VLAN id of a range.") })]))
    .optional()
    .describe("VLANs the pod port trunks, as single ids or ranges."),
  preserveDefaultVlan: z.boolean().optional().describe("Keep the port in the default VLAN 1 when vlan or vlanTrunk is set."),
  disableContainerInterface: z.boolean().optional().describe("Leave the pod-side interface down."),
  ipam: layer2OrIpam.optional().describe("IPAM plugin and its settings; `{}` for layer 2 only (no addresses)."),
});
const ptp = pluginObject({ type: z.literal("ptp"), ipMasq, ipMasqBackend, mtu: interfaceMtu, ipam });
const macvlan = pluginObject({
  type: z.literal("macvlan"),
  master: master.optional(),
  mode: z.enum(["bridge", "private", "vepa", "passthru"]).optional().describe("macvlan mode; default bridge."),
  mtu: interfaceMtu,
  linkInContainer,
  ipam,
});
const ipvlan = pluginObject({
  type: z.literal("ipvlan"),
  master: master.optional(),
  mode: z.enum(["l2", "l3", "l3s"]).optional().describe("ipvlan mode; default l2."),
  mtu: interfaceMtu,
  linkInContainer,
  ipam,
});
const vlan = pluginObject({
  type: z.literal("vlan"),
  master: master.min(1),
  vlanId: z.number().int().min(0).max(4094).describe("VLAN tag of the pod's interface."),
  mtu: interfaceMtu,
  linkInContainer,
  ipam,
});
const hostDevice = pluginObject({
  type: z.literal("host-device"),
  device: z.string().optional().describe("Host interface to move into the pod, by name."),
  hwaddr: z.string().optional().describe("Host interface to move, by MAC address."),
  kernelpath: z.string().optional().describe("Host interface to move, by its kernel path under /sys."),
  pciBusID: z.string().optional().describe("Host device to move, by PCI address (e.g. 0000:00:1f.6)."),
  ipam: ipam.optional(),
});
const dummy = pluginObject({ type: z.literal("dummy"), ipam });
const tap = pluginObject({
  type: z.literal("tap"),
  multiQueue: z.boolean().optional().describe("Create a multi-queue tap device."),
  mtu: interfaceMtu,
  mac: z.string().optional().describe("MAC address of the tap device."),
  owner: z.number().int().min(0).optional().describe("UID that owns the tap device."),
  group: z.number().int().min(0).optional().describe("GID that owns the tap device."),
  selinuxContext: z.string().optional().describe("SELinux context the tap device is created in."),
  bridge: z.string().optional().describe("Host bridge to attach the tap device to."),
  ipam: ipam.optional(),
});
const loopback = pluginObject({ type: z.literal("loopback") });
const portmap = pluginObject({
  type: z.literal("portmap"),
  backend: z.enum(["iptables", "nftables"]).optional().describe("Which tool installs the port-forwarding rules; default iptables."),
  snat: z.boolean().optional().describe("Masquerade hairpin traffic (a pod reaching its own host port); default true."),
  masqAll: z.boolean().optional().describe("Masquerade all forwarded traffic, not only hairpin traffic."),
  markMasqBit: z.number().int().min(0).max(31).optional().describe("Packet mark bit for traffic to masquerade; default 13."),
  externalSetMarkChain: z.string().optional().describe("Use this existing chain (e.g. kube-proxy's KUBE-MARK-MASQ) to mark traffic instead of portmap's own."),
  conditionsV4: z.array(z.string()).optional().describe("Extra iptables match conditions for the IPv4 DNAT rules."),
  conditionsV6: z.array(z.string()).optional().describe("Extra ip6tables match conditions for the IPv6 DNAT rules."),
});
const bandwidth = pluginObject({
  type: z.literal("bandwidth"),
  ingressRate: uint64.optional().describe("Traffic into the pod, in bits per second."),
  ingressBurst: uint64.optional().describe("Burst of traffic into the pod, in bits."),
  egressRate: uint64.optional().describe("Traffic out of the pod, in bits per second."),
  egressBurst: uint64.optional().describe("Burst of traffic out of the pod, in bits."),
});
const tuning = pluginObject({
  type: z.literal("tuning"),
  sysctl: z
    .record(z.string().regex(/^net\.[a-zA-Z0-9_.\-/]+$/, { error: (issue) => `${describeValue(issue.input)} is not a net.* sysctl (tuning only sets network sysctls in the pod's namespace)` }), z.string())
    .optional()
    .describe("net.* sysctls set in the pod's network namespace; `IFNAME` in a key stands for the interface."),
  mac: z.string().optional().describe("MAC address to set on the interface."),
  promisc: z.boolean().optional().describe("Turn promiscuous mode on."),
  mtu: interfaceMtu,
  txQLen: z.number().int().min(0).optional().describe("Transmit queue length of the interface."),
  allmulti: z.boolean().optional().describe("Receive all multicast traffic."),
  dataDir: z.string().startsWith("/").optional().describe("Where tuning keeps the original settings it restores on delete; default /run/cni/tuning."),
});
const firewall = pluginObject({
  type: z.literal("firewall"),
  backend: z.enum(["iptables", "firewalld"]).optional().describe("Firewall the rules go into; default: firewalld when it runs, else iptables."),
  iptablesAdminChainName: z.string().optional().describe("iptables chain for administrator rules, evaluated first; default CNI-ADMIN."),
  firewalldZone: z.string().optional().describe("firewalld zone for pod addresses; default trusted."),
  ingressPolicy: z.enum(["open", "same-bridge", "isolated"]).optional().describe("Which traffic may enter a pod: open (default), same-bridge (only from pods on the same bridge), or isolated."),
});
const routeTable = z.number().int().min(0).optional();
const sbr = pluginObject({ type: z.literal("sbr"), table: routeTable.describe("Fixed routing table id for the source-based routes (plugins v1.6.0+); default: sbr picks one.") });
const vrf = pluginObject({
  type: z.literal("vrf"),
  vrfname: z.string().min(1).describe("VRF device the interface is enslaved to, created if missing."),
  table: routeTable.describe("Routing table of the VRF; default: a free one."),
});

export const TYPED = { bridge, ptp, macvlan, ipvlan, vlan, "host-device": hostDevice, dummy, tap, loopback, portmap, bandwidth, tuning, firewall, sbr, vrf } as const;
export type ReferencePluginType = keyof typeof TYPED;
export const REFERENCE_PLUGIN_TYPES = Object.keys(TYPED) as ReferencePluginType[];

/** Meta plugins work on a previous result: they may not come first in a list. */
export const CHAINED_TYPES: ReadonlySet<string> = new Set(["portmap", "bandwidth", "tuning", "firewall", "sbr", "vrf"]);
/** Reference plugins that need at least this spec version (their skel registration, plugins v1.9.1). */
export const MIN_SPEC: Readonly<Record<string, string>> = { bandwidth: "0.3.0", vrf: "0.3.1", firewall: "0.4.0" };

const thirdParty = z
  .object({ type: z.string() })
  .catchall(z.unknown())
  .superRefine((plugin, ctx) => {
    for (const key of Object.keys(plugin)) {
      if (RESERVED.includes(key) || key.startsWith("cni.dev/")) {
        ctx.addIssue({ code: "custom", path: [key], message: reservedMessage(key), input: plugin[key],
});
      }
    }
    if (plugin.capabilities !== undefined && (typeof plugin.capabilities !== "object" || plugin.capabilities === null || Object.values(plugin.capabilities).some((v) => typeof v !== "boolean"))) {
      ctx.addIssue({ code: "custom", path: ["capabilities"], message: "expected a map of capability names to true/false", input: plugin.capabilities,
});
    }
  });

/** A plugin object: typed when it is a reference plugin, checked for the spec's common fields otherwise. */
export const pluginConfig = byType(TYPED, thirdParty, "a plugin type");
export type PluginConfig = z.output<typeof pluginConfig>;

/** A network configuration list as kubeplug writes it to `<priority>-<name>.conflist`. */
export const conflist = strictObject({
  name: z.string().regex(CNI_NAME, {
    error: (issue) => `${describeValue(issue.input)} is not a CNI network name (letters, digits, "_", "." and "-", starting with a letter or digit)`,
  }).describe("Network name, also the file name: <priority>-<name>.conflist."),
  cniVersion: z.enum(CNI_VERSIONS).default("1.0.0").describe("1.0.0 works with every runtime and plugin kubeplug supports; 1.1.0 needs plugins 1.6+ and containerd 2.x."),
  cniVersions: z.array(z.enum(CNI_VERSIONS)).optional().describe("Spec 1.1.0: every version the list supports; the runtime picks the highest it knows, without asking the plugins."),
  disableCheck: z.boolean().optional().describe("Tell the runtime not to call CHECK on this network."),
  priority: z.number().int().min(0).max(99).default(10).describe("File name prefix: /etc/cni/net.d/<priority>-<name>.conflist; the lexically first file is the network."),
  pools: z.array(z.string().min(1)).optional().describe("Pools that get this list; default: every pool."),
  plugins: z.array(pluginConfig).min(1).describe("The plugin chain, run in order: an interface plugin first, then meta plugins (portmap, bandwidth, tuning, ...)."),
});
export type ConflistConfig = z.output<typeof conflist>;
