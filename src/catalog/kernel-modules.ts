/**
 * Kernel facts the node-prepare and storage-prepare steps rely on: what Kubernetes asks of every node
 * before a container runtime is installed, and how to tell that a module is in the kernel when it
 * cannot be seen loaded.
 * Ref: https://kubernetes.io/docs/setup/production-environment/container-runtimes/#install-and-configure-prerequisites
 */

/** Loaded on every node: overlay (containerd's and CRI-O's overlay snapshotter/driver), br_netfilter (bridged pod traffic through iptables). */
export const REQUIRED_MODULES = ["overlay", "br_netfilter"] as const;

/** Set on every node; a stack may add keys but not give these another value. */
export const REQUIRED_SYSCTLS: Readonly<Record<string, string>> = {
  "net.ipv4.ip_forward": "1",
  "net.bridge.bridge-nf-call-iptables": "1",
  "net.bridge.bridge-nf-call-ip6tables": "1",
};

/** Added when the pod network is IPv6: nodes forward pod traffic for both families. */
export const IPV6_FORWARDING = { "net.ipv6.conf.all.forwarding": "1" } as const;

export interface ModuleFacts {
  /**
   * How to see the module when it is built into the kernel (a built-in module without parameters has no
   * /sys/module entry, and a container sees no modules.builtin): `filesystem:<name>` (listed in
   * /proc/filesystems) or an absolute path that exists only with the module.
   */
  readonly evidence: readonly string[];
  /** sysctl keys that exist only with the module (prefixes, dot-separated): skipped with it. */
  readonly sysctlPrefixes: readonly string[];
}

/** Modules kubeplug knows; any other module is seen only through /sys/module and modules.builtin. */
export const MODULE_FACTS: Readonly<Record<string, ModuleFacts>> = {
  overlay: { evidence: ["filesystem:overlay"], sysctlPrefixes: [] },
  br_netfilter: { evidence: ["/proc/sys/net/bridge"], sysctlPrefixes: ["net.bridge."] },
  ip_vs: { evidence: ["/proc/sys/net/ipv4/vs", "/proc/net/ip_vs"], sysctlPrefixes: ["net.ipv4.vs."] },
  nf_conntrack: { evidence: ["/proc/sys/net/netfilter/nf_conntrack_max"], sysctlPrefixes: ["net.netfilter.nf_conntrack_", "net.nf_conntrack_max"] },
  // CSI drivers' node plugins (storage-prepare): the filesystem, bus or transport each module registers.
  nfs: { evidence: ["filesystem:nfs"], sysctlPrefixes: [] },
  nfsv4: { evidence: ["filesystem:nfs4"], sysctlPrefixes: [] },
  cifs: { evidence: ["filesystem:cifs"], sysctlPrefixes: [] },
  rbd: { evidence: ["/sys/bus/rbd"], sysctlPrefixes: [] },
  nbd: { evidence: ["/sys/block/nbd0"], sysctlPrefixes: [] },
  iscsi_tcp: { evidence: ["/sys/class/iscsi_transport/tcp"], sysctlPrefixes: [] },
};

/** modprobe treats "-" and "_" alike; kubeplug writes the "_" form. */
export function canonicalModule(name: string): string {
  return name.replace(/-/g, "_");
}
