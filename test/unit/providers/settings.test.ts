import { describe, expect, it } from "vitest";
import { parseCniProvider } from "../../../src/config/cni-provider";
import { KubeplugConfigError } from "../../../src/errors";

// Settings are refused with messages that name the full path and the offending value; the exact
// text is asserted because it is what a user reads.
function problems(input: unknown): string[] {
  try {
    parseCniProvider(input);
  } catch (error) {
    expect(error).toBeInstanceOf(KubeplugConfigError);
    return (error as KubeplugConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error("settings were accepted");
}

describe("CNI provider settings: defaults", () => {
  it("fills each provider's defaults", () => {
    expect(parseCniProvider({ kind: "calico", podCIDR: "192.168.0.0/16" })).toEqual({
      kind: "calico",
      podCIDR: "192.168.0.0/16",
      encapsulation: "IPIP",
      bgp: true,
      natOutgoing: true,
    });
    expect(parseCniProvider({ kind: "cilium", podCIDR: "10.0.0.0/8" })).toEqual({
      kind: "cilium",
      podCIDR: "10.0.0.0/8",
      routing: "vxlan",
      kubeProxyReplacement: false,
      exclusive: true,
    });
    expect(parseCniProvider({ kind: "flannel", podCIDR: "10.244.0.0/16" })).toEqual({ kind: "flannel", podCIDR: "10.244.0.0/16", backend: "vxlan" });
  });
});

describe("CNI provider settings: refused", () => {
  it("an unknown encapsulation, with a suggestion", () => {
    expect(problems({ kind: "calico", podCIDR: "192.168.0.0/16", encapsulation: "VXLANCrossSubnt" })).toEqual([
      'kubeplug:network.provider.encapsulation: "VXLANCrossSubnt" is not one of: "VXLAN", "VXLANCrossSubnet", "IPIP", "IPIPCrossSubnet", "None"; did you mean "VXLANCrossSubnet"?',
    ]);
  });

  it("an unknown Cilium routing and Flannel backend", () => {
    expect(problems({ kind: "cilium", podCIDR: "10.0.0.0/8", routing: "tunnel" })).toEqual([
      'kubeplug:network.provider.routing: "tunnel" is not one of: "vxlan", "geneve", "native"',
    ]);
    expect(problems({ kind: "flannel", podCIDR: "10.244.0.0/16", backend: "udp" })).toEqual([
      'kubeplug:network.provider.backend: "udp" is not one of: "vxlan", "host-gw", "wireguard"',
    ]);
  });

  it.each([
    ["10.244.0.0", '"10.244.0.0" is not a CIDR such as "10.244.0.0/16"'],
    ["10.244.0.0/33", '"10.244.0.0/33" is not a CIDR such as "10.244.0.0/16"'],
    ["pods", '"pods" is not a CIDR such as "10.244.0.0/16"'],
    ["10.244.1.7/16", '"10.244.1.7/16" has host bits set; give the network address (e.g. "10.244.0.0/16")'],
    ["fd00:10:244::/56", '"fd00:10:244::/56" is IPv6; kubeplug\'s CNI providers take an IPv4 pod CIDR'],
    ["10.244.0.0/25", '"10.244.0.0/25" is smaller than one /24 block, which kube-controller-manager (--node-cidr-mask-size) gives each node; use a prefix of /24 or shorter'],
  ])("a pod CIDR %s", (podCIDR, message) => {
    expect(problems({ kind: "flannel", podCIDR })).toEqual([`kubeplug:network.provider.podCIDR: ${message}`]);
  });

  it("a pod CIDR smaller than the provider's per-node block", () => {
    expect(problems({ kind: "calico", podCIDR: "192.168.0.0/27" })).toEqual([
      'kubeplug:network.provider.podCIDR: "192.168.0.0/27" is smaller than one /26 block, which Calico IPAM gives each node; use a prefix of /26 or shorter',
    ]);
    expect(problems({ kind: "cilium", podCIDR: "10.0.0.0/25" })).toEqual([
      'kubeplug:network.provider.podCIDR: "10.0.0.0/25" is smaller than one /24 block, which Cilium\'s cluster-pool IPAM gives each node; use a prefix of /24 or shorter',
    ]);
  });

  it("a missing pod CIDR", () => {
    expect(problems({ kind: "cilium" })).toEqual(["kubeplug:network.provider.podCIDR: required, expected a string"]);
  });

  it("kubeProxyReplacement without the API server address", () => {
    expect(problems({ kind: "cilium", podCIDR: "10.0.0.0/8", kubeProxyReplacement: true })).toEqual([
      "kubeplug:network.provider.k8sServiceHost: required when kubeProxyReplacement is true: without kube-proxy the agents cannot reach the API server through its Service IP",
      "kubeplug:network.provider.k8sServicePort: required when kubeProxyReplacement is true: without kube-proxy the agents cannot reach the API server through its Service IP",
    ]);
    expect(problems({ kind: "cilium", podCIDR: "10.0.0.0/8", kubeProxyReplacement: true, k8sServicePort: 6443 })).toEqual([
      "kubeplug:network.provider.k8sServiceHost: required when kubeProxyReplacement is true: without kube-proxy the agents cannot reach the API server through its Service IP",
    ]);
  });

  it("half an API server address, a bad one, and the chart's lookup mode", () => {
    expect(problems({ kind: "cilium", podCIDR: "10.0.0.0/8", k8sServiceHost: "10.231.0.11" })).toEqual([
      "kubeplug:network.provider.k8sServicePort: required with k8sServiceHost: the agents use the API server address only as a host and port pair",
    ]);
    expect(problems({ kind: "cilium", podCIDR: "10.0.0.0/8", kubeProxyReplacement: true, k8sServiceHost: "api server", k8sServicePort: 70000 })).toEqual([
      'kubeplug:network.provider.k8sServiceHost: "api server" is not an IPv4 address, an IPv6 address or a DNS name',
      "kubeplug:network.provider.k8sServicePort: number 70000 must be at most 65535",
    ]);
    expect(problems({ kind: "cilium", podCIDR: "10.0.0.0/8", kubeProxyReplacement: true, k8sServiceHost: "auto", k8sServicePort: 6443 })).toEqual([
      `kubeplug:network.provider.k8sServiceHost: "auto" is not supported: give the API server's address (the control-plane endpoint)`,
    ]);
  });

  it("an encapsulation that needs BGP with BGP off", () => {
    expect(problems({ kind: "calico", podCIDR: "192.168.0.0/16", bgp: false })).toEqual([
      'kubeplug:network.provider.encapsulation: "IPIP" needs bgp: true (BIRD programs its routes; the Tigera operator refuses it with BGP disabled); use "VXLAN" or "VXLANCrossSubnet" without BGP',
    ]);
    expect(parseCniProvider({ kind: "calico", podCIDR: "192.168.0.0/16", bgp: false, encapsulation: "VXLAN" })).toMatchObject({ bgp: false });
  });

  it("an MTU the chart would ignore, and one out of range", () => {
    expect(problems({ kind: "flannel", podCIDR: "10.244.0.0/16", backend: "host-gw", mtu: 1450 })).toEqual([
      'kubeplug:network.provider.mtu: the flannel chart ignores mtu with backend "host-gw" (it writes an MTU for vxlan and wireguard only); remove mtu or change the backend',
    ]);
    expect(problems({ kind: "calico", podCIDR: "192.168.0.0/16", mtu: 100 })).toEqual(["kubeplug:network.provider.mtu: number 100 must be at least 576"]);
    expect(problems({ kind: "cilium", podCIDR: "10.0.0.0/8", mtu: "1450" })).toEqual(['kubeplug:network.provider.mtu: expected a number, got "1450"']);
  });

  it("unknown keys, with a suggestion where one is close", () => {
    expect(problems({ kind: "cilium", podCIDR: "10.0.0.0/8", kubeProxyReplacment: true, hubble: {} })).toEqual([
      'kubeplug:network.provider.kubeProxyReplacment: unknown key; did you mean "kubeProxyReplacement"?',
      "kubeplug:network.provider.hubble: unknown key; known keys here: kind, podCIDR, routing, mtu, kubeProxyReplacement, k8sServiceHost, k8sServicePort, exclusive",
    ]);
    // A key of another provider is unknown here too.
    expect(problems({ kind: "flannel", podCIDR: "10.244.0.0/16", encapsulation: "VXLAN" })).toEqual([
      "kubeplug:network.provider.encapsulation: unknown key; known keys here: kind, podCIDR, backend, mtu",
    ]);
  });

  it("an unknown or missing kind", () => {
    expect(problems({ kind: "calcio", podCIDR: "10.0.0.0/8" })).toEqual(['kubeplug:network.provider.kind: unknown kind "calcio"; did you mean "calico"?']);
    expect(problems({ podCIDR: "10.0.0.0/8" })).toEqual(['kubeplug:network.provider.kind: "kind" is required: one of calico, cilium, flannel']);
  });
});
