import { z } from "zod";
import { ARTIFACT_NAMES } from "../catalog/artifacts";
import { hostKeyDataProblem, HostKeyType } from "../util/ssh-keys";
import { describeValue } from "./path";
import { absolutePath, checksum, dnsLabel, hostAddress, httpUrl, labels, port, semver } from "./primitives";
import { crioRuntime } from "./crio";
import { registryHostName } from "./runtime-common";
import { containerdRuntime, registryHost } from "./runtime";
import { runtimeClass, runtimeClassName } from "./runtime-class";
import { clusterPrepare, kubeletSwapFields, poolPrepare } from "./node-prepare";
import { enumRecord, strictObject, tagged } from "./zod";
import { runtimeSwap } from "./runtime-swap";

export const ARCHITECTURES = ["amd64", "arm64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
export const architecture = z.enum(ARCHITECTURES).default("amd64").describe("CPU architecture; selects download artifacts and is checked on the node.");

/** Where kubeplug logs in when a stack says nothing else; `NodeConnection` falls back to the same values. */
export const SSH_DEFAULTS = { port: 22, user: "root" } as const;

const sshUser = z.string().min(1).describe("Login user. Any user other than root runs steps through `sudo -n`.");
const sshPort = port.describe("SSH port.");
const credentials = {
  privateKeyPath: z.string().min(1).optional().describe("Private key file, read by the program (relative paths are relative to the project)."),
  agent: z.boolean().optional().describe("Use the SSH agent at $SSH_AUTH_SOCK instead of a key file; @pulumi/command reads the variable when a step connects, so the socket path never enters the state."),
};

const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) ([A-Za-z0-9+/=]+)$/;
/** A public host key as @pulumi/command pins it: the type and the base64 data of a `.pub` file, without the comment. */
export const hostKey = z
  .string()
  .regex(HOST_KEY, { error: (issue) => `${describeValue(issue.input)} is not an OpenSSH public host key such as "ssh-ed25519 AAAA..."` })
  .superRefine((value, ctx) => {
    const [, type, , data] = HOST_KEY.exec(value) ?? [];
    const problem = type && data ? hostKeyDataProblem(type as HostKeyType, data) : undefined;
    if (problem) ctx.addIssue({ code: "custom", input: value, message: `${describeValue(value)} is not a well-formed ${type} key: ${problem}; copy the line from the host's /etc/ssh/ssh_host_${type === "ssh-rsa" ? "rsa" : type!.startsWith("ecdsa") ? "ecdsa" : "ed25519"}_key.pub` });
  });

const bastion = strictObject({
  address: hostAddress.describe("IP address or DNS name of the jump host."),
  port: sshPort.default(SSH_DEFAULTS.port),
  user: sshUser.default(SSH_DEFAULTS.user),
  ...credentials,
  hostKey: hostKey.optional().describe("The bastion's pinned host key (ssh-keyscan output, checked by hand, or its /etc/ssh/ssh_host_*_key.pub). Without it the bastion is looked up in knownHostsFile, or left unchecked under insecureSkipHostKeyCheck."),
}).refine((b) => !(b.privateKeyPath && b.agent), { error: "set either privateKeyPath or agent: true, not both" });

/** A node's own SSH settings: each key it sets overrides the cluster's, the others are inherited. */
const nodeSshFields = {
  user: sshUser.optional(),
  port: sshPort.optional(),
  ...credentials,
  hostKey: hostKey.optional().describe("The node's pinned host key, e.g. the content of its /etc/ssh/ssh_host_ed25519_key.pub without the comment. Every node needs a host key check: hostKey, knownHostsFile, or insecureSkipHostKeyCheck."),
  knownHostsFile: z.string().min(1).optional().describe("An OpenSSH known_hosts file kubeplug reads at render and at pulumi up (relative paths are relative to the project, ~/ is the home directory): each node and bastion without its own hostKey is pinned to the key it lists for the address and port (hashed names included; ssh-ed25519 preferred)."),
  insecureSkipHostKeyCheck: z.boolean().optional().describe("Throwaway labs only: connect without checking host keys, to nodes and bastions that pin none. Whoever answers at an address then gets root commands and registry credentials; every render and pulumi up warns."),
  bastion: bastion.optional().describe("Jump host the connection goes through."),
};
const nodeSsh = strictObject(nodeSshFields);

/** SSH settings every node inherits, key by key. */
const clusterSsh = strictObject({ ...nodeSshFields, user: sshUser.default(SSH_DEFAULTS.user), port: sshPort.default(SSH_DEFAULTS.port) });
export type SshConfig = z.infer<typeof clusterSsh>;

const node = strictObject({
  name: dnsLabel("node name").describe("Node name as Kubernetes knows it; names the node's steps and output folder."),
  pool: z.string().min(1).describe("Name of the pool whose runtime and settings the node gets."),
  address: hostAddress.describe("IP address or DNS name kubeplug connects to over SSH."),
  arch: architecture,
  ssh: nodeSsh.optional().describe("Overrides of kubeplug:cluster.ssh for this node."),
  labels: labels.default({}).describe("Labels of this node, over its pool's labels (RuntimeClass node selectors match on them)."),
  roles: z.array(z.enum(["control-plane", "worker"])).min(1).default(["worker"]).describe("The node's roles in the cluster."),
  podCIDR: z.string().optional().describe("The node's pod subnet (as node.spec.podCIDR), a network address such as 10.244.1.0/24: host-local IPAM without explicit ranges allocates from it."),
});
export type NodeConfig = z.infer<typeof node>;

/** The container runtime of a node pool, by `kind`; settings of the other kind are named as such. */
export const runtimeConfig = tagged("kind", [containerdRuntime, crioRuntime]);
export type RuntimeConfig = z.infer<typeof runtimeConfig>;

const pool = strictObject({
  name: dnsLabel("pool name").describe("Pool name; nodes name their pool."),
  runtime: runtimeConfig.describe("The pool's container runtime, chosen by kind."),
  labels: labels.default({}).describe("Labels every node of the pool carries (RuntimeClass node selectors match on them)."),
  virtualization: z.boolean().optional().describe("Whether the pool's nodes expose /dev/kvm; false refuses Kata and gVisor's kvm platform up front. Unset: checked on each node."),
  prepare: poolPrepare.optional().describe("Node prerequisites of this pool's nodes, over kubeplug:cluster.prepare: its modules are added to the cluster's, its sysctls override the cluster's key by key."),
  swap: runtimeSwap.optional(),
});
export type PoolConfig = z.infer<typeof pool>;

const versionChecksums = z.record(z.string().min(1), enumRecord(ARCHITECTURES, checksum));

export const downloadsConfig = strictObject({
  baseUrls: enumRecord(ARTIFACT_NAMES, httpUrl).default({}).describe("Per artifact, a mirror that keeps the upstream path layout below it (air-gapped file servers)."),
  checksums: enumRecord(ARTIFACT_NAMES, versionChecksums).default({}).describe("Checksums for versions the built-in catalog lacks, or for your own builds."),
  cacheDir: absolutePath.default("/var/cache/kubeplug/downloads").describe("Where nodes keep verified downloads."),
});
export type DownloadsConfig = z.infer<typeof downloadsConfig>;

export const kubeletRootDir = absolutePath.default("/var/lib/kubelet").describe("The kubelet's --root-dir, handed to every CSI driver (charts call it kubeletDir, linux.kubelet, ...); distributions that move it (k0s: /var/lib/k0s/kubelet) break every driver that is not told.");
export const kubeletCgroupDriver = z.enum(["systemd", "cgroupfs"]).default("systemd").describe("The kubelet's cgroupDriver; every runtime follows it (SystemdCgroup, cgroup_manager).");

export const clusterConfig = strictObject({
  name: dnsLabel("cluster name").describe("Cluster name: the name of the Cluster component."),
  lab: z.boolean().default(false).describe("A throwaway lab or test bed, not machines anyone relies on. kubeplug's policy pack (policy/) allows skipVerify on registry hosts only in a lab; the Cluster component carries the flag so the pack can tell."),
  kubelet: strictObject({
    cgroupDriver: kubeletCgroupDriver,
    rootDir: kubeletRootDir,
    version: semver("kubelet").optional().describe("The nodes' kubelet version (e.g. 1.35.0): flags it refuses are refused in the stack, and a runtime swap checks each node's kubelet reports it."),
    ...kubeletSwapFields,
  }).prefault({}).describe("What kubeplug must match on the kubelet's side."),
  prepare: clusterPrepare.prefault({}).describe("Node prerequisites (the node-prepare step, before any runtime install): kernel modules and sysctls on every node, now and at boot; the swap check follows kubelet.failSwapOn. A pool's prepare adds to it."),
  ssh: clusterSsh.prefault({}).describe("How kubeplug reaches every node over SSH; a node's own ssh overrides it key by key."),
  downloads: downloadsConfig.prefault({}).describe("Where release artifacts come from and how they are verified."),
  pools: z.array(pool).min(1).describe("Node pools: groups of nodes that share a runtime and labels."),
  nodes: z.array(node).min(1).describe("The nodes kubeplug manages."),
  registries: strictObject({
    hosts: z.record(registryHostName, registryHost).default({}).describe("Per registry host, in containerd's hosts.toml terms: every pool inherits it. CRI-O pools take the portable part (server and mirror URLs, skipVerify, server credentials); anything else is an error naming the pool, which then replaces the host in its registries.overrides."),
  }).prefault({}).describe("Registry mirrors, TLS and credentials every pool inherits; a pool adds hosts in its runtime's registries.hosts and replaces one per host in registries.overrides."),
  runtimeClasses: z.record(runtimeClassName, runtimeClass).default({}).describe("RuntimeClass customisations and extra classes, by class name."),
});
export type ClusterConfig = z.infer<typeof clusterConfig>;
