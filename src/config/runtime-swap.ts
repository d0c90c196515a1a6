import { z } from "zod";
import { absolutePath, semver } from "./primitives";
import { handlerName } from "./runtime-common";
import { strictObject, tagged } from "./zod";

/** The CRI socket each kind of runtime listens on by default (research/runtime-swap.md §2). */
export const DEFAULT_ENDPOINTS = {
  containerd: "unix:///run/containerd/containerd.sock",
  crio: "unix:///var/run/crio/crio.sock",
  docker: "unix:///var/run/cri-dockerd.sock",
} as const;
export type SwapKind = keyof typeof DEFAULT_ENDPOINTS;

const criEndpoint = z
  .string()
  .regex(/^unix:\/\/\/[^\s"']+$/, { error: (issue) => `${JSON.stringify(issue.input)} is not a CRI endpoint of the form unix:///path/to/socket` });

const fromFields = (kind: SwapKind, what: string) => ({
  version: semver(what).optional().describe(`The ${what} version the nodes run now. Required when the pool stays on ${what} (a version change); shown in the plan and checked on each node.`),
  endpoint: criEndpoint.default(DEFAULT_ENDPOINTS[kind]).describe("The CRI socket the nodes' kubelet uses now; preflight checks the kubelet really points there."),
  handlers: z.array(handlerName).min(1).default(["runc"]).describe("Runtime handlers the old runtime serves (RuntimeClass handlers pods may use): each must exist on the new runtime."),
});

const from = tagged("kind", [
  strictObject({ kind: z.literal("containerd").describe("The runtime the nodes run now."), ...fromFields("containerd", "containerd") }),
  strictObject({ kind: z.literal("crio"), ...fromFields("crio", "CRI-O") }),
  strictObject({ kind: z.literal("docker"), ...fromFields("docker", "Docker Engine") }),
]).describe("The runtime the pool's nodes run now: containerd, crio, or docker (Docker Engine through cri-dockerd).");
export type SwapFrom = z.infer<typeof from>;

const PERCENT = /^([1-9][0-9]?|100)%$/;
export const maxUnavailable = z
  .union([
    z.number().int().min(1, { error: "must be at least 1: a wave of 0 nodes never finishes" }),
    z.string().regex(PERCENT, { error: (issue) => `${JSON.stringify(issue.input)} is not a count or a percent from 1% to 100%` }),
  ])
  .default(1)
  .describe("How many of the pool's workers swap at once (one wave): a count, or a percent of the pool's workers rounded down (at least 1). Control-plane nodes always go one at a time, after every worker.");

const flagName = z.string().regex(/^--[a-z0-9][a-z0-9-]*$/, { error: (issue) => `${JSON.stringify(issue.input)} is not a kubelet flag such as "--node-ip"` });

export const runtimeSwap = strictObject({
  from,
  maxUnavailable,
  kubeletCgroupDriver: z.enum(["systemd", "cgroupfs"]).optional().describe("The cgroup driver the nodes' kubelet uses now, when you know it: it must equal kubeplug:cluster.kubelet.cgroupDriver, which the new runtime follows. Preflight checks each node's kubelet either way."),
  pauseSeconds: z.number().int().min(0).default(0).describe("Pause before each wave after the first, e.g. to watch dashboards."),
  drain: strictObject({
    timeoutSeconds: z.number().int().min(1).default(300).describe("kubectl drain --timeout: a PodDisruptionBudget that allows no eviction in this time stops the node's swap (rolled back) and every later wave."),
    deleteEmptyDirData: z.boolean().default(false).describe("kubectl drain --delete-emptydir-data: pods with emptyDir volumes are evicted and lose that data. Off: such a pod stops the drain."),
    force: z.boolean().default(false).describe("kubectl drain --force: pods no controller recreates are deleted for good. Off: such a pod stops the drain."),
    gracePeriodSeconds: z.number().int().min(0).optional().describe("kubectl drain --grace-period; unset: each pod's own terminationGracePeriodSeconds."),
  }).prefault({}).describe("How each node is drained (kubectl drain, which respects PodDisruptionBudgets; DaemonSet pods stay)."),
  readyTimeoutSeconds: z.number().int().min(10).default(300).describe("How long a node may take to report Ready with the new runtime after the kubelet starts."),
  kubectl: strictObject({
    path: absolutePath.default("/usr/bin/kubectl").describe("kubectl on each node of the pool; the swap's cluster phases (cordon, drain, annotate, readiness, uncordon) run there, so a failed node can uncordon itself on rollback."),
    kubeconfig: absolutePath.default("/etc/kubernetes/admin.conf").describe("A kubeconfig on each node with rights to get, patch and evict: kubeadm's admin.conf on control planes; put one on workers."),
  }).prefault({}).describe("How the swap reaches the Kubernetes API from the nodes."),
  kubeletFlags: z.record(flagName, z.string().nullable()).default({}).describe("kubelet flags to set (a value) or remove (null) in kubeadm-flags.env while the kubelet is repointed, e.g. flags the old runtime needed. The CRI endpoint flags are kubeplug's."),
  attempt: z.number().int().min(1).default(1).describe("Raise it (2, 3, ...) to run every step of the swap again after a node was rolled back and the cause is fixed: Pulumi re-runs only steps whose script changed, and a rollback undid what the steps before the failed one did. Nodes that finished their swap skip it."),
  allowControlPlaneOutage: z.boolean().default(false).describe("Swap a pool that holds the cluster's only control-plane node, which takes the API down while that node swaps. Off: such a swap is refused."),
}).describe("Move the pool's nodes from the runtime they run now (from) to the pool's runtime: per node preflight, cordon and drain, stop the old runtime, install the new one, pre-pull, repoint the kubelet, start and verify, uncordon, in waves, rolled back on failure. Remove it once every node has moved.");
export type RuntimeSwapConfig = z.infer<typeof runtimeSwap>;
