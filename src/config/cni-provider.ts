import { z } from "zod";
import { KubeplugConfigError } from "../errors";
import { describeValue } from "./path";
import { hostAddress, port } from "./primitives";
import { strictObject, tagged, zodProblems } from "./zod";
import { isNetworkAddress, parseCidr } from "../util/cidr";

/**
 * Typed settings of the CNI providers kubeplug deploys with Helm (`kubeplug:network.provider`).
 * Only what users set most is modelled (shared/research/cni.md B2); every other chart value keeps
 * the chart's default, so a pinned chart version fully determines the rest.
 */

/**
 * The cluster's IPv4 pod network. `nodeBlock` is the prefix length of the block the provider carves
 * out of it per node: a pod CIDR smaller than one block cannot give even one node its addresses.
 */
function podCIDR(nodeBlock: number, blockOwner: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const cidr = parseCidr(value);
      const fail = (message: string) => ctx.addIssue({ code: "custom", input: value, message });
      if (!cidr) return fail(`${describeValue(value)} is not a CIDR such as "10.244.0.0/16"`);
      // IPv6 and dual-stack pools need per-provider keys (podCidrv6, clusterPoolIPv6PodCIDRList, a second
      // ipPool) that are not modelled yet.
      if (cidr.family !== 4) return fail(`${describeValue(value)} is IPv6; kubeplug's CNI providers take an IPv4 pod CIDR`);
      if (!isNetworkAddress(cidr)) return fail(`${describeValue(value)} has host bits set; give the network address (e.g. "10.244.0.0/16")`);
      if (cidr.prefix > nodeBlock) {
        return fail(`${describeValue(value)} is smaller than one /${nodeBlock} block, which ${blockOwner} gives each node; use a prefix of /${nodeBlock} or shorter`);
      }
    })
    .describe("The cluster's IPv4 pod network; keep it equal to kube-controller-manager's --cluster-cidr (kubeadm podSubnet), whose node podCIDRs Flannel uses.");
}

/** 576: the smallest IPv4 datagram every host must accept; 9216: the largest jumbo frame common NICs take. */
const mtu = z.number().int().min(576).max(9216);

export const CALICO_ENCAPSULATIONS = ["VXLAN", "VXLANCrossSubnet", "IPIP", "IPIPCrossSubnet", "None"] as const;
/**
 * Encapsulations whose routes BIRD programs: the operator refuses them with BGP disabled
 * (tigera/operator v1.42.3 pkg/controller/installation/validation.go; kubeplug does not expose the
 * Felix cluster routing mode that lifts this).
 */
const CALICO_NEEDS_BGP: ReadonlySet<string> = new Set(["IPIP", "IPIPCrossSubnet", "None"]);

export const calicoSettings = strictObject({
  kind: z.literal("calico").describe("The provider: calico, cilium or flannel."),
  // Calico allocates /26 blocks per node by default (ipPools[].blockSize, operator defaults.go).
  podCIDR: podCIDR(26, "Calico IPAM"),
  encapsulation: z.enum(CALICO_ENCAPSULATIONS).default("IPIP").describe("ipPools[0].encapsulation; IPIP is the operator's default for an IPv4 pool."),
  mtu: mtu.optional().describe("MTU of pod interfaces and tunnels (Calico subtracts nothing); unset = Calico auto-detects."),
  bgp: z.boolean().default(true).describe("calicoNetwork.bgp Enabled/Disabled; IPIP and unencapsulated pools need it."),
  natOutgoing: z.boolean().default(true).describe("ipPools[0].natOutgoing: masquerade pod traffic leaving the pod network."),
}).superRefine((s, ctx) => {
  if (!s.bgp && CALICO_NEEDS_BGP.has(s.encapsulation)) {
    ctx.addIssue({
      code: "custom",
      path: ["encapsulation"],
      input: s.encapsulation,
      message: `"${s.encapsulation}" needs bgp: true (BIRD programs its routes; the Tigera operator refuses it with BGP disabled); use "VXLAN" or "VXLANCrossSubnet" without BGP`,
    });
  }
});

export const CILIUM_ROUTINGS = ["vxlan", "geneve", "native"] as const;

export const ciliumSettings = strictObject({
  kind: z.literal("cilium").describe("The provider: calico, cilium or flannel."),
  // cluster-pool hands each node a /24 (ipam.operator.clusterPoolIPv4MaskSize, chart default 24).
  podCIDR: podCIDR(24, "Cilium's cluster-pool IPAM"),
  routing: z
    .enum(CILIUM_ROUTINGS)
    .default("vxlan")
    .describe("vxlan/geneve: routingMode tunnel with that tunnelProtocol; native: routingMode native with direct node routes, so the nodes must share an L2 segment."),
  mtu: mtu.optional().describe("MTU of the underlying network (Cilium subtracts the tunnel overhead); unset = auto-detected."),
  kubeProxyReplacement: z.boolean().default(false).describe("Let Cilium's eBPF service handling replace kube-proxy."),
  k8sServiceHost: hostAddress
    // The chart resolves "auto" with a Helm lookup of kube-public/cluster-info at deploy time, so the
    // plan could not show the address; kubeplug wants it explicit.
    .refine((v) => v !== "auto", { error: '"auto" is not supported: give the API server\'s address (the control-plane endpoint)' })
    .optional()
    .describe("API server address the agents use directly (required with kubeProxyReplacement: no Service IP works before Cilium does)."),
  k8sServicePort: port.optional().describe("API server port (required with kubeProxyReplacement)."),
  exclusive: z.boolean().default(true).describe("cni.exclusive: Cilium renames every other conflist in /etc/cni/net.d to *.cilium_bak and keeps doing so."),
}).superRefine((s, ctx) => {
  const pair = ["k8sServiceHost", "k8sServicePort"] as const;
  const given = pair.filter((field) => s[field] !== undefined);
  if (given.length === 2 || (given.length === 0 && !s.kubeProxyReplacement)) return;
  for (const field of pair.filter((f) => s[f] === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: [field],
      input: undefined,
      message: s.kubeProxyReplacement
        ? "required when kubeProxyReplacement is true: without kube-proxy the agents cannot reach the API server through its Service IP"
        : `required with ${given[0]}: the agents use the API server address only as a host and port pair`,
    });
  }
});

export const FLANNEL_BACKENDS = ["vxlan", "host-gw", "wireguard"] as const;
/** The chart writes `Backend.MTU` for these only (chart/kube-flannel/templates/config.yaml at v0.28.9). */
const FLANNEL_MTU_BACKENDS: ReadonlySet<string> = new Set(["vxlan", "wireguard"]);

export const flannelSettings = strictObject({
  kind: z.literal("flannel").describe("The provider: calico, cilium or flannel."),
  // With --kube-subnet-mgr flannel takes node.spec.podCIDR, which kube-controller-manager cuts as /24s by default.
  podCIDR: podCIDR(24, "kube-controller-manager (--node-cidr-mask-size)"),
  backend: z.enum(FLANNEL_BACKENDS).default("vxlan").describe("flannel.backend; host-gw needs the nodes on one L2 segment."),
  mtu: mtu.optional().describe("MTU of the outgoing packets (flannel subtracts the encapsulation overhead); vxlan and wireguard only; unset = the external interface's MTU."),
}).superRefine((s, ctx) => {
  if (s.mtu !== undefined && !FLANNEL_MTU_BACKENDS.has(s.backend)) {
    ctx.addIssue({
      code: "custom",
      path: ["mtu"],
      input: s.mtu,
      message: `the flannel chart ignores mtu with backend "${s.backend}" (it writes an MTU for vxlan and wireguard only); remove mtu or change the backend`,
    });
  }
});

/** The value of `kubeplug:network.provider`: one provider, chosen by `kind`. */
export const cniProviderSettings = tagged("kind", [calicoSettings, ciliumSettings, flannelSettings]);

export type CalicoSettings = z.output<typeof calicoSettings>;
export type CiliumSettings = z.output<typeof ciliumSettings>;
export type FlannelSettings = z.output<typeof flannelSettings>;
export type CniProviderSettings = z.output<typeof cniProviderSettings>;
/** What a caller writes: defaulted fields may be left out. */
export type CniProviderSettingsInput = z.input<typeof cniProviderSettings>;
export type { CniProviderKind } from "../catalog/cni-providers";

/** Parses provider settings; every problem is reported at once, located under `root`. */
export function parseCniProvider(input: unknown, root = "kubeplug:network.provider"): CniProviderSettings {
  const result = cniProviderSettings.safeParse(input, { reportInput: true });
  if (!result.success) throw new KubeplugConfigError(zodProblems(root, result.error));
  return result.data;
}
