import { z } from "zod";
import { canonicalModule, IPV6_FORWARDING, REQUIRED_MODULES, REQUIRED_SYSCTLS } from "../catalog/kernel-modules";
import { parseCidr } from "../util/cidr";
import { Locator } from "./findings";
import { describeValue } from "./path";
import { strictObject } from "./zod";

/**
 * A sysctl as sysctl.d(5) names it, dot-separated (the form `sysctl -a` prints): a lowercase first
 * part, then parts of letters, digits, "_" and "-" (interface names may hold capitals), where "*"
 * matches within one part (globs, systemd 245+). The "/" form and sysctl.d's "-" prefix (ignore
 * failures) are not accepted: kubeplug reports every key it cannot set instead.
 */
export const SYSCTL_KEY = /^[a-z0-9_]+(\.[A-Za-z0-9_*-]+)+$/;

function sysctlKeyProblem(key: string): string {
  let why = 'dot-separated parts such as "net.ipv4.ip_forward": letters, digits, "_", "-", and "*" within a part';
  if (key.includes("/")) why = 'write it with dots, as `sysctl -a` prints it ("net/ipv4/ip_forward" is "net.ipv4.ip_forward")';
  else if (key.startsWith("-")) why = 'sysctl.d\'s "-" prefix (ignore failures) is not offered, since kubeplug reports every key it cannot set';
  else if (!key.includes(".")) why = "a sysctl has at least two dot-separated parts";
  return `${describeValue(key)} is not a sysctl key: ${why}`;
}

/** A regex (not a refinement), so the JSON Schema carries it and editors refuse bad keys too. */
export const sysctlKey = z.string().regex(SYSCTL_KEY, { error: (issue) => sysctlKeyProblem(String(issue.input)) });

/** A value as it appears after "=" in sysctl.d: numbers, or words separated by blanks ("32768 60999"). */
export const sysctlValue = z
  .union(
    [
      z.string().regex(/^[^\n\r\0]*\S[^\n\r\0]*$/, { error: (issue) => (/[\n\r\0]/.test(String(issue.input)) ? "spans lines: a sysctl value is one line" : "is empty: a sysctl needs a value") }),
      z.number(),
    ],
    { error: (issue) => `expected a number or a string, got ${describeValue(issue.input)}` },
  )
  .transform((v) => String(v));

const MODULE_NAME = /^[A-Za-z0-9_-]+$/;
export const moduleName = z.string().regex(MODULE_NAME, {
  error: (issue) => {
    const name = String(issue.input);
    const why = name.includes("/") ? 'a module name has no "/": modprobe and modules-load.d take names, not paths to .ko files' : 'letters, digits, "_" and "-", e.g. "ip_vs"';
    return `${describeValue(name)} is not a kernel module name: ${why}`;
  },
});

const prepareFields = {
  modules: z.array(moduleName).describe(`Kernel modules to load now and at boot (/etc/modules-load.d/kubeplug.conf), besides the ones every node gets: ${REQUIRED_MODULES.join(", ")}.`),
  sysctls: z.record(sysctlKey, sysctlValue).describe(
    `sysctls to set now and at boot (/etc/sysctl.d/99-kubeplug.conf), besides the ones every node gets: ${Object.entries(REQUIRED_SYSCTLS).map(([k, v]) => `${k} = ${v}`).join(", ")} (and net.ipv6.conf.all.forwarding = 1 with an IPv6 pod network).`,
  ),
};

/** Node prerequisites for every node of the cluster. */
export const clusterPrepare = strictObject({
  modules: prepareFields.modules.default([]),
  sysctls: prepareFields.sysctls.default({}),
});
export type ClusterPrepareConfig = z.infer<typeof clusterPrepare>;

/** A pool's additions: its modules are added to the cluster's, its sysctls override the cluster's key by key. */
export const poolPrepare = strictObject({
  modules: prepareFields.modules.optional(),
  sysctls: prepareFields.sysctls.optional(),
});
export type PoolPrepareConfig = z.infer<typeof poolPrepare>;

/** What a node's kubelet does with swap; the prepare step checks the node against it. */
export const kubeletSwapFields = {
  failSwapOn: z.boolean().default(true).describe("The kubelet's failSwapOn: true (the default) makes the kubelet refuse to start while swap is on, so node-prepare fails on a node with active swap and names its swap devices. Ref: https://kubernetes.io/docs/concepts/cluster-administration/swap-memory-management/"),
  memorySwap: strictObject({
    swapBehavior: z.enum(["NoSwap", "LimitedSwap"]).default("NoSwap").describe("The kubelet's memorySwap.swapBehavior (NodeSwap, GA in 1.34): NoSwap (pods use no swap) or LimitedSwap (Burstable pods may swap in proportion to their memory request; needs cgroup v2, which node-prepare checks)."),
  }).optional().describe("With failSwapOn: false, how the kubelet lets pods use swap."),
};

/** Settings of one node's prepare step, with the cluster's and the pool's merged and the required ones first. */
export interface NodePrepareSettings {
  readonly modules: readonly string[];
  /** In the order written to sysctl.d: required keys first, then the stack's, sorted. */
  readonly sysctls: readonly (readonly [string, string])[];
  readonly failSwapOn: boolean;
  /** Set when failSwapOn is false. */
  readonly swapBehavior?: "NoSwap" | "LimitedSwap";
}

export interface PrepareInputs {
  readonly cluster?: ClusterPrepareConfig;
  readonly pool?: PoolPrepareConfig;
  readonly kubelet: { readonly failSwapOn: boolean; readonly memorySwap?: { readonly swapBehavior: "NoSwap" | "LimitedSwap" } | undefined };
  /** sysctls the rest of the stack needs (IPv6 forwarding for an IPv6 pod network). */
  readonly stackSysctls?: Readonly<Record<string, string>>;
}

const normalized = (v: string) => v.trim().split(/\s+/).join(" ");

/** Merges the prepare settings of a node; validation (checkPrepare) has refused conflicts with required values. */
export function nodePrepareSettings(input: PrepareInputs): NodePrepareSettings {
  const required: Record<string, string> = { ...REQUIRED_SYSCTLS, ...input.stackSysctls };
  const extra: Record<string, string> = { ...input.cluster?.sysctls, ...input.pool?.sysctls };
  const keys = Object.keys(extra).filter((k) => !(k in required)).sort();
  const modules = [...new Set([...REQUIRED_MODULES, ...(input.cluster?.modules ?? []), ...(input.pool?.modules ?? [])].map(canonicalModule))];
  return {
    modules,
    sysctls: [...Object.entries(required), ...keys.map((k) => [k, normalized(extra[k]!)] as const)],
    failSwapOn: input.kubelet.failSwapOn,
    ...(input.kubelet.failSwapOn ? {} : { swapBehavior: input.kubelet.memorySwap?.swapBehavior ?? "NoSwap" }),
  };
}

/** Cross-field rules: a required sysctl keeps its value; swap settings agree with each other. */
export function checkPrepareSysctls(sysctls: Readonly<Record<string, string>> | undefined, at: Locator, stackSysctls: Readonly<Record<string, string>> = {}): void {
  const required: Record<string, string> = { ...REQUIRED_SYSCTLS, ...stackSysctls };
  for (const [key, value] of Object.entries(sysctls ?? {})) {
    const want = required[key];
    if (want !== undefined && normalized(value) !== want) {
      at.child("sysctls", key).problem(`${describeValue(value)}: Kubernetes needs ${key} = ${want} on every node${key in REQUIRED_SYSCTLS ? "" : " of this stack (its pod network is IPv6)"}, which kubeplug sets; remove the key`);
    }
  }
}

export function checkKubeletSwap(kubelet: PrepareInputs["kubelet"], at: Locator): void {
  if (kubelet.failSwapOn && kubelet.memorySwap?.swapBehavior === "LimitedSwap") {
    at.child("memorySwap", "swapBehavior").problem('"LimitedSwap" lets pods use swap, but failSwapOn: true makes the kubelet refuse to start on a node with swap; set failSwapOn: false');
  }
}

/** sysctls the stack's own settings call for: IPv6 forwarding when the pod network is IPv6. */
export function stackSysctls(podCIDR: string | undefined): Record<string, string> {
  return podCIDR && parseCidr(podCIDR)?.family === 6 ? { ...IPV6_FORWARDING } : {};
}
