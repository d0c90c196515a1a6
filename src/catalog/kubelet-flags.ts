/**
 * kubelet flags that a kubelet of a given version refuses ("unknown flag"), so a kubelet started
 * with one does not start at all. Sources: CHANGELOG-1.24 (dockershim removal: the networking and
 * Docker flags), CHANGELOG-1.27 (`--container-runtime`, PR #114017), CHANGELOG-1.35
 * (`--pod-infra-container-image`, PR #133779); see ../shared/research/runtime-swap.md §6.
 */
export interface RemovedKubeletFlag {
  readonly flag: string;
  /** The first kubelet minor (`1.N`) that refuses it. */
  readonly removedIn: string;
  /** What to do instead. */
  readonly instead: string;
}

export const REMOVED_KUBELET_FLAGS: readonly RemovedKubeletFlag[] = [
  { flag: "--network-plugin", removedIn: "1.24", instead: "the kubelet always uses CNI through the runtime; drop the flag" },
  { flag: "--cni-bin-dir", removedIn: "1.24", instead: "set the runtime's CNI bin dir (kubeplug:network.cni.binDir)" },
  { flag: "--cni-conf-dir", removedIn: "1.24", instead: "set the runtime's CNI conf dir (kubeplug:network.cni.confDir)" },
  { flag: "--docker-endpoint", removedIn: "1.24", instead: "Docker Engine is reached through cri-dockerd's CRI socket" },
  { flag: "--container-runtime", removedIn: "1.27", instead: "every runtime is a remote CRI runtime; drop the flag" },
  { flag: "--pod-infra-container-image", removedIn: "1.35", instead: "the runtime pins the sandbox image: set the pool's runtime sandboxImage" },
];

/** The flags a kubelet of `version` (e.g. "1.35.0") refuses. */
export function flagsRefusedBy(version: string): RemovedKubeletFlag[] {
  const [major, minor] = version.split(".").map(Number);
  return REMOVED_KUBELET_FLAGS.filter((f) => {
    const [, removedMinor] = f.removedIn.split(".").map(Number);
    return major! > 1 || minor! >= removedMinor!;
  });
}
