import { flagsRefusedBy, REMOVED_KUBELET_FLAGS } from "../../catalog/kubelet-flags";
import { DEFAULT_ENDPOINTS, RuntimeSwapConfig, SwapKind } from "../../config/runtime-swap";
import { sha256 } from "../../util/hash";
import { bashAssignment, scriptAsset, ScriptVar } from "../node/shell";
import { StepDefinition, StepNode } from "../node/step";

/** The phases of one node's swap, in order; the new runtime's own install and configure steps run between stop-old and prepull. */
export const SWAP_STEPS = {
  preflight: "swap-preflight",
  drain: "swap-drain",
  stopOld: "swap-stop-old",
  prepull: "swap-prepull",
  repoint: "swap-repoint",
  start: "swap-start",
} as const;
export type SwapStepId = (typeof SWAP_STEPS)[keyof typeof SWAP_STEPS];

/** Where a node keeps its swap record, backups and rollback script (research/runtime-swap.md §2, "keep for rollback"). */
export const SWAP_STATE_DIR = "/var/lib/kubeplug/swap";

/** What a runtime kind means on the node: the name the kubelet reports, its units, and what a swap keeps of it. */
interface KindFacts {
  /** The prefix of status.nodeInfo.containerRuntimeVersion (`containerd://2.1.9`). */
  readonly reportedAs: string;
  /** Units to stop when it is the old runtime, in stop order (sockets first, so nothing re-activates them). */
  readonly units: readonly string[];
  /** Its config, kept in the node's swap backup so a rollback can restore it. */
  readonly configPaths: readonly string[];
  /** Commands whose directory holds its binaries (`containerd` → containerd, containerd-shim*, ctr): kept when the new runtime replaces them. */
  readonly binaries: readonly string[];
  /** Runtime-shipped CNI configs that would shadow the cluster's (research §6, pitfall 2). */
  readonly defaultConflists: readonly string[];
  /** Long-lived helper processes of its pods that survive `systemctl stop`: "NAME ARGS-REGEX" (an executable name prefix, a command-line regex). */
  readonly leftovers: readonly string[];
}

const CONTAINERD_UNITS = ["containerd.service"];
const KINDS: Record<SwapKind, KindFacts> = {
  containerd: {
    reportedAs: "containerd",
    units: CONTAINERD_UNITS,
    configPaths: ["/etc/containerd", "/etc/systemd/system/containerd.service", "/etc/systemd/system/containerd.service.d", "/lib/systemd/system/containerd.service"],
    binaries: ["containerd", "ctr"],
    defaultConflists: ["10-containerd-net.conflist"],
    leftovers: ["containerd-shim -namespace k8s.io"],
  },
  crio: {
    reportedAs: "cri-o",
    units: ["crio.service"],
    configPaths: ["/etc/crio", "/etc/containers/registries.conf", "/etc/containers/registries.conf.d", "/etc/systemd/system/crio.service", "/etc/systemd/system/crio.service.d"],
    binaries: ["crio", "pinns"],
    defaultConflists: ["10-crio-bridge.conflist", "100-crio-bridge.conflist", "100-crio-bridge.conf", "200-loopback.conflist", "87-podman-bridge.conflist"],
    leftovers: ["conmon ."],
  },
  docker: {
    reportedAs: "docker",
    // Debian's docker.io runs on the distribution's containerd: it stops with Docker, unless it is the new runtime.
    units: ["cri-docker.socket", "cri-docker.service", "docker.socket", "docker.service", ...CONTAINERD_UNITS],
    configPaths: ["/etc/containerd", "/etc/systemd/system/cri-docker.service.d", "/etc/systemd/system/docker.service.d"],
    binaries: ["containerd", "ctr"],
    defaultConflists: [],
    leftovers: ["containerd-shim -namespace k8s.io"],
  },
};

/** The new runtime, as the swap needs to know it. */
export interface SwapTarget {
  readonly kind: "containerd" | "crio";
  readonly version: string;
  readonly description: string;
  readonly endpoint: string;
  readonly handlers: readonly string[];
  readonly sandboxImage: string;
}

/** Where a node sits in its pool's swap. */
export interface SwapPosition {
  /** 1-based, across the pool's waves. */
  readonly wave: number;
  readonly waves: number;
}

export interface SwapStepInput {
  readonly node: StepNode;
  readonly pool: string;
  readonly swap: RuntimeSwapConfig;
  readonly to: SwapTarget;
  readonly position: SwapPosition;
  readonly kubelet: { readonly cgroupDriver: string; readonly version?: string | undefined };
}

/** What the plan shows of a swap: the old runtime in words, and what each node keeps for a rollback. */
export function swapFromDescription(swap: RuntimeSwapConfig): string {
  const name = { containerd: "containerd", crio: "CRI-O", docker: "Docker Engine (cri-dockerd)" }[swap.from.kind];
  return swap.from.version ? `${name} ${swap.from.version}` : name;
}

export function keptForRollback(swap: RuntimeSwapConfig, to: SwapTarget): string[] {
  const binaries = sameBinaries(swap, to) ? `, and the binaries beside ${KINDS[swap.from.kind].binaries.join(", ")}` : "";
  return [
    `the kubelet's flag and config files, /etc/crictl.yaml and the cri-socket annotation, as preflight found them (${SWAP_STATE_DIR}/kubelet-files.tar)`,
    `the old runtime's config: ${backupPaths(swap, to).join(", ")}${binaries} (${SWAP_STATE_DIR}/runtime-files.tar)`,
    `the old runtime's data (images, containers, volumes) where it is: untouched; its units are stopped and disabled, not removed`,
  ];
}

/** The new runtime installs over the old one's binaries: a containerd upgrade, or Docker's own containerd. */
function sameBinaries(swap: RuntimeSwapConfig, to: SwapTarget): boolean {
  return KINDS[swap.from.kind].binaries.some((b) => KINDS[to.kind].binaries.includes(b));
}

/** The config a swap keeps: the old runtime's, and containerd's when containerd is the new runtime (its configure step rewrites it). */
function backupPaths(swap: RuntimeSwapConfig, to: SwapTarget): string[] {
  return [...new Set([...KINDS[swap.from.kind].configPaths, ...(to.kind === "containerd" ? KINDS.containerd.configPaths : [])])];
}

/** Identifies one swap (pool, from, to): a record left by another swap is not resumed as this one. */
export function swapId(pool: string, swap: RuntimeSwapConfig, to: SwapTarget): string {
  return sha256(JSON.stringify([pool, swap.from, to.kind, to.version, to.endpoint])).slice(0, 16);
}

const script = (name: string) => scriptAsset(__dirname, name);

/** Only the variables a script reads: a preview diff of a phase then shows only settings that change it. */
function readBy(vars: Record<string, ScriptVar>, parts: readonly string[]): Record<string, ScriptVar> {
  return Object.fromEntries(Object.entries(vars).filter(([name]) => parts.some((p) => p.includes(name))));
}

/** The variables every swap phase and the rollback script read. */
function swapVars(input: SwapStepInput): Record<string, ScriptVar> {
  const { swap, to, position, kubelet } = input;
  const old = KINDS[swap.from.kind];
  const next = KINDS[to.kind];
  const flagsToSet = Object.entries(swap.kubeletFlags).filter(([, v]) => v !== null).map(([flag, value]) => `${flag}=${value}`);
  const flagsToRemove = Object.entries(swap.kubeletFlags).filter(([, v]) => v === null).map(([flag]) => flag);
  return {
    KP_SWAP_ID: swapId(input.pool, swap, to),
    KP_SWAP_DIR: SWAP_STATE_DIR,
    KP_SWAP_FROM_KIND: swap.from.kind,
    KP_SWAP_FROM_VERSION: swap.from.version ?? "",
    KP_SWAP_FROM_ENDPOINT: swap.from.endpoint,
    KP_SWAP_FROM_REPORTED: old.reportedAs,
    KP_SWAP_FROM_DESCRIPTION: swapFromDescription(swap),
    KP_SWAP_TO_KIND: to.kind,
    KP_SWAP_TO_VERSION: to.version,
    KP_SWAP_TO_ENDPOINT: to.endpoint,
    KP_SWAP_TO_REPORTED: next.reportedAs,
    KP_SWAP_TO_DESCRIPTION: to.description,
    KP_SWAP_TO_HANDLERS: to.handlers,
    KP_SWAP_SANDBOX_IMAGE: to.sandboxImage,
    KP_SWAP_KUBELET_DEFAULT_ENDPOINT: DEFAULT_ENDPOINTS.containerd,
    KP_SWAP_CGROUP_DRIVER: kubelet.cgroupDriver,
    KP_SWAP_KUBELET_VERSION: kubelet.version ?? "",
    KP_SWAP_REMOVED_FLAGS: REMOVED_KUBELET_FLAGS.map((f) => `${f.flag}@${f.removedIn}`),
    KP_SWAP_SET_FLAGS: flagsToSet,
    KP_SWAP_REMOVE_FLAGS: flagsToRemove,
    KP_SWAP_OLD_UNITS: old.units.filter((u) => !next.units.includes(u)),
    KP_SWAP_NEW_UNITS: next.units,
    KP_SWAP_RESTORE_UNITS: [...old.units].reverse(),
    KP_SWAP_BACKUP_PATHS: backupPaths(swap, to),
    KP_SWAP_BACKUP_BINARIES: sameBinaries(swap, to) ? old.binaries : [],
    KP_SWAP_DEFAULT_CONFLISTS: old.defaultConflists,
    KP_SWAP_LEFTOVERS: old.leftovers,
    KP_SWAP_KUBECTL: swap.kubectl.path,
    KP_SWAP_KUBECONFIG: swap.kubectl.kubeconfig,
    KP_SWAP_DRAIN_TIMEOUT: swap.drain.timeoutSeconds,
    KP_SWAP_DRAIN_FLAGS: [
      "--ignore-daemonsets",
      ...(swap.drain.deleteEmptyDirData ? ["--delete-emptydir-data"] : []),
      ...(swap.drain.force ? ["--force"] : []),
      ...(swap.drain.gracePeriodSeconds !== undefined ? [`--grace-period=${swap.drain.gracePeriodSeconds}`] : []),
      `--timeout=${swap.drain.timeoutSeconds}s`,
    ],
    KP_SWAP_READY_TIMEOUT: swap.readyTimeoutSeconds,
    KP_SWAP_PAUSE: position.wave > 1 ? swap.pauseSeconds : 0,
    KP_SWAP_WAVE: `${position.wave}/${position.waves}`,
  };
}

/**
 * The rollback script preflight leaves on the node: the swap library with this swap's variables.
 * Any kubeplug step that fails while the node's swap window is open runs it (prelude.sh kp_fail), so
 * a failed install of the new runtime rolls back as surely as a failed swap phase.
 */
function rollbackScript(node: StepNode, vars: Record<string, ScriptVar>): string {
  return [
    "#!/usr/bin/env bash",
    `# kubeplug runtime swap rollback for node ${node.name}: restores the runtime and kubelet files preflight and stop-old kept.`,
    "# Run by kubeplug when a step fails mid-swap; by hand: rollback.sh manual \"why\" (see docs/runtime-swap.md).",
    "set -Eeuo pipefail",
    bashAssignment("KP_NODE", node.name),
    ...Object.entries(readBy(vars, [script("swap-lib.sh")])).map(([name, value]) => bashAssignment(name, value)),
    script("swap-lib.sh"),
    'kp_swap_rollback "${1:-manual}" "${2:-run by hand}"',
    "",
  ].join("\n");
}

/** One node's swap phases, in order: those before the new runtime's install steps, and those after them. */
export function swapSteps(input: SwapStepInput): { readonly before: StepDefinition[]; readonly after: (runtimeSteps: readonly string[]) => StepDefinition[] } {
  const vars = swapVars(input);
  const { node, swap, to } = input;
  const from = swapFromDescription(swap);
  const step = (id: SwapStepId, summary: string, body: string, dependsOn: readonly string[], extra: Partial<StepDefinition> = {}): StepDefinition => {
    const parts = [script("swap-lib.sh"), body];
    return {
      node,
      id,
      phase: id === SWAP_STEPS.preflight ? "verify" : "configure",
      summary: `${summary} (wave ${input.position.wave}/${input.position.waves})`,
      vars: readBy(vars, parts),
      files: [],
      body: parts,
      dependsOn,
      ...extra,
    };
  };
  const refused = input.kubelet.version ? flagsRefusedBy(input.kubelet.version).map((f) => f.flag) : [];
  return {
    before: [
      step(SWAP_STEPS.preflight, `read-only checks and record: the kubelet points at ${swap.from.endpoint} (${from}), its cgroup driver is ${input.kubelet.cgroupDriver}, its flags suit its version, running pods' RuntimeClass handlers exist on ${to.description}`, script("swap-preflight.sh"), [], {
        files: [{ path: `${SWAP_STATE_DIR}/rollback.sh`, content: rollbackScript(node, vars), mode: 0o700 }],
      }),
      step(SWAP_STEPS.drain, `cordon and drain with kubectl (${(vars.KP_SWAP_DRAIN_FLAGS as string[]).join(" ")}), uncordoned again if the drain fails`, script("swap-drain.sh"), [SWAP_STEPS.preflight]),
      step(SWAP_STEPS.stopOld, `stop kubelet, remove the old runtime's pods, stop and disable ${from}, kill its leftover shims, clear its CNI state; keep its data and config`, script("swap-stop-old.sh"), [SWAP_STEPS.drain]),
    ],
    after: (runtimeSteps) => [
      step(SWAP_STEPS.prepull, `pull ${to.sandboxImage} and the images of the node's DaemonSet and static pods into ${to.description}`, script("swap-prepull.sh"), runtimeSteps),
      step(SWAP_STEPS.repoint, `point every place that sets the kubelet's CRI endpoint at ${to.endpoint} (KUBELET_EXTRA_ARGS, kubeadm-flags.env, --config-dir, config.yaml, instance-config.yaml, the cri-socket annotation, /etc/crictl.yaml)${refused.length > 0 ? `; drop what kubelet ${input.kubelet.version} refuses (${refused.join(", ")}) where kubeadm-flags.env has it` : ""}`, script("swap-repoint.sh"), [SWAP_STEPS.prepull]),
      step(SWAP_STEPS.start, `start kubelet, wait until the node is Ready on ${to.kind === "crio" ? "cri-o" : "containerd"}://${to.version}, uncordon if it was schedulable`, script("swap-start.sh"), [SWAP_STEPS.repoint]),
    ],
  };
}
