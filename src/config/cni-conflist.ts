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

const route = strictObject({ dst: cidr, gw: ip.optional() });
const dns = strictObject({
  nameservers: z.array(ip).optional(),
  domain: z.string().optional(),
  search: z.array(z.string()).optional(),
  options: z.array(z.string()).optional(),
});

const hostLocalRange = strictObject({ subnet: networkCidr, rangeStart: ip.optional(), rangeEnd: ip.optional(), gateway: ip.optional() });

/**
 * host-local: `ranges` omitted means "this node's pod subnet" (nodes[].podCIDR), filled in per node,
 * because each node needs its own range for addresses to stay unique across the cluster.
 */
const hostLocal = strictObject({
  type: z.literal("host-local"),
  ranges: z.array(z.array(hostLocalRange).min(1)).min(1).optional(),
  // The single-range form from before `ranges`; host-local still reads it (prepended to ranges).
  subnet: networkCidr.optional(),
  rangeStart: ip.optional(),
  rangeEnd: ip.optional(),
  gateway: ip.optional(),
  routes: z.array(route).optional(),
  dataDir: z.string().startsWith("/").optional(),
  resolvConf: z.string().startsWith("/").optional(),
});
const staticIpam = strictObject({
  type: z.literal("static"),
  addresses: z.array(strictObject({ address: cidr, gateway: ip.optional() })).optional(),
  routes: z.array(route).optional(),
  dns: dns.optional(),
});
const dhcp = strictObject({
  type: z.literal("dhcp"),
  daemonSocketPath: z.string().startsWith("/").optional(),
  request: z.array(strictObject({ option: z.string().optional(), skipDefault: z.boolean().optional() })).optional(),
  provide: z.array(strictObject({ option: z.string(), value: z.string().optional(), fromArg: z.string().optional() })).optional(),
  priority: z.number().int().optional(),
});
export const TYPED_IPAM: Record<string, z.ZodType> = { "host-local": hostLocal, static: staticIpam, dhcp };

/** Parses `value` with the typed schema for its `type`, or `fallback` for types kubeplug does not model. */
function byType(typed: Record<string, z.ZodType>, fallback: z.ZodType, what: string) {
  return z
    .object({
      type: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
        error: (issue) => `${describeValue(issue.input)} is not ${what}: a binary name in the CNI bin dir, without "/"`,
      }),
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

const capabilities = z.record(z.string(), z.boolean());
/** Keys the runtime owns: a plugin object in a file must not carry them (SPEC.md "reserved"). */
const RESERVED = ["runtimeConfig", "args", "prevResult"];
const reservedMessage = (key: string) => `"${key}" is reserved for the runtime; a network configuration must not set it`;

/** A reference plugin's config: its own keys plus those the spec defines for every plugin object. */
function pluginObject<Shape extends z.ZodRawShape>(shape: Shape) {
  return strictObject(
    { ...shape, capabilities: capabilities.optional(), dns: dns.optional() },
    Object.fromEntries(RESERVED.map((key) => [key, reservedMessage(key)])),
  );
}

const bridge = pluginObject({
  type: z.literal("bridge"),
  bridge: z.string().min(1).max(15).optional(),
  isGateway: z.boolean().optional(),
  isDefaultGateway: z.boolean().optional(),
  forceAddress: z.boolean().optional(),
  ipMasq: z.boolean().optional(),
  ipMasqBackend: z.enum(["iptables", "nftables"]).optional(),
  mtu: mtu.optional(),
  hairpinMode: z.boolean().optional(),
  promiscMode: z.boolean().optional(),
  vlan: z.number().int().min(0).max(4094).optional(),
  macspoofchk: z.boolean().optional(),
  enabledad: z.boolean().optional(),
  portIsolation: z.boolean().optional(),
  vlanTrunk: z.array(z.union([strictObject({ id: z.number().int().min(1).max(4094) }), strictObject({ minID: z.number().int().min(1).max(4094), maxID: z.number().int().min(1).max(4094) })])).optional(),
  preserveDefaultVlan: z.boolean().optional(),
  disableContainerInterface: z.boolean().optional(),
  ipam: layer2OrIpam.optional(),
});
const ptp = pluginObject({ type: z.literal("ptp"), ipMasq: z.boolean().optional(), ipMasqBackend: z.enum(["iptables", "nftables"]).optional(), mtu: mtu.optional(), ipam: ipamConfig });
const macvlan = pluginObject({
  type: z.literal("macvlan"),
  master: z.string().optional(),
  mode: z.enum(["bridge", "private", "vepa", "passthru"]).optional(),
  mtu: mtu.optional(),
  linkInContainer: z.boolean().optional(),
  ipam: ipamConfig,
});
const ipvlan = pluginObject({ type: z.literal("ipvlan"), master: z.string().optional(), mode: z.enum(["l2", "l3", "l3s"]).optional(), mtu: mtu.optional(), linkInContainer: z.boolean().optional(), ipam: ipamConfig });
const vlan = pluginObject({ type: z.literal("vlan"), master: z.string().min(1), vlanId: z.number().int().min(0).max(4094), mtu: mtu.optional(), linkInContainer: z.boolean().optional(), ipam: ipamConfig });
const hostDevice = pluginObject({ type: z.literal("host-device"), device: z.string().optional(), hwaddr: z.string().optional(), kernelpath: z.string().optional(), pciBusID: z.string().optional(), ipam: ipamConfig.optional() });
const dummy = pluginObject({ type: z.literal("dummy"), ipam: ipamConfig });
const tap = pluginObject({
  type: z.literal("tap"),
  multiQueue: z.boolean().optional(),
  mtu: mtu.optional(),
  mac: z.string().optional(),
  owner: z.number().int().min(0).optional(),
  group: z.number().int().min(0).optional(),
  selinuxContext: z.string().optional(),
  bridge: z.string().optional(),
  ipam: ipamConfig.optional(),
});
const loopback = pluginObject({ type: z.literal("loopback") });
const portmap = pluginObject({
  type: z.literal("portmap"),
  backend: z.enum(["iptables", "nftables"]).optional(),
  snat: z.boolean().optional(),
  masqAll: z.boolean().optional(),
  markMasqBit: z.number().int().min(0).max(31).optional(),
  externalSetMarkChain: z.string().optional(),
  conditionsV4: z.array(z.string()).optional(),
  conditionsV6: z.array(z.string()).optional(),
});
const bandwidth = pluginObject({ type: z.literal("bandwidth"), ingressRate: uint64.optional(), ingressBurst: uint64.optional(), egressRate: uint64.optional(), egressBurst: uint64.optional() });
const tuning = pluginObject({
  type: z.literal("tuning"),
  sysctl: z.record(z.string().regex(/^net\.[a-zA-Z0-9_.\-/]+$/, { error: (issue) => `${describeValue(issue.input)} is not a net.* sysctl (tuning only sets network sysctls in the pod's namespace)` }), z.string()).optional(),
  mac: z.string().optional(),
  promisc: z.boolean().optional(),
  mtu: mtu.optional(),
  txQLen: z.number().int().min(0).optional(),
  allmulti: z.boolean().optional(),
  dataDir: z.string().startsWith("/").optional(),
});
const firewall = pluginObject({
  type: z.literal("firewall"),
  backend: z.enum(["iptables", "firewalld"]).optional(),
  iptablesAdminChainName: z.string().optional(),
  firewalldZone: z.string().optional(),
  ingressPolicy: z.enum(["open", "same-bridge", "isolated"]).optional(),
});
const sbr = pluginObject({ type: z.literal("sbr"), table: z.number().int().min(0).optional() });
const vrf = pluginObject({ type: z.literal("vrf"), vrfname: z.string().min(1), table: z.number().int().min(0).optional() });

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
  }),
  cniVersion: z.enum(CNI_VERSIONS).default("1.0.0").describe("1.0.0 works with every runtime and plugin kubeplug supports; 1.1.0 needs plugins 1.6+ and containerd 2.x."),
  cniVersions: z.array(z.enum(CNI_VERSIONS)).optional().describe("Spec 1.1.0: every version the list supports; the runtime picks the highest it knows, without asking the plugins."),
  disableCheck: z.boolean().optional(),
  priority: z.number().int().min(0).max(99).default(10).describe("File name prefix: /etc/cni/net.d/<priority>-<name>.conflist; the lexically first file is the network."),
  pools: z.array(z.string().min(1)).optional().describe("Pools that get this list; default: every pool."),
  plugins: z.array(pluginConfig).min(1),
});
export type ConflistConfig = z.output<typeof conflist>;
