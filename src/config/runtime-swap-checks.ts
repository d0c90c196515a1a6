import { flagsRefusedBy } from "../catalog/kubelet-flags";
import { ClusterConfig, PoolConfig } from "./cluster";
import { Locator } from "./findings";
import { RuntimeSwapConfig } from "./runtime-swap";

/** The endpoint flags a swap rewrites itself; a stack that sets them would fight the repoint. */
const ENDPOINT_FLAGS = ["--container-runtime-endpoint", "--image-service-endpoint"];

/** Checks of one pool's `swap`: what only the rest of the stack can show (the schema checked each field). */
export function checkRuntimeSwap(cluster: ClusterConfig, pool: PoolConfig, swap: RuntimeSwapConfig, at: Locator): void {
  const nodes = cluster.nodes.filter((n) => n.pool === pool.name);
  const workers = nodes.filter((n) => !n.roles.includes("control-plane"));
  const { from } = swap;
  const to = pool.runtime;
  const toVersion = to.version;

  if (from.kind === to.kind && from.version === undefined) {
    at.child("from", "version").problem(`the pool stays on ${to.kind}: say which version the nodes run now, so preflight can tell a node that already moved to ${toVersion} from one that has not`);
  } else if (from.kind === to.kind && from.version === toVersion) {
    at.child("from").problem(`the nodes already run ${to.kind} ${toVersion}, the pool's runtime: there is nothing to swap; remove swap`);
  }

  if (typeof swap.maxUnavailable === "number" && workers.length > 0 && swap.maxUnavailable > workers.length) {
    at.child("maxUnavailable").problem(`${swap.maxUnavailable} is more than the ${workers.length} worker node(s) of pool "${pool.name}"`);
  }

  if (swap.kubeletCgroupDriver && swap.kubeletCgroupDriver !== cluster.kubelet.cgroupDriver) {
    at.child("kubeletCgroupDriver").problem(
      `the nodes' kubelet uses "${swap.kubeletCgroupDriver}" but the new runtime follows kubeplug:cluster.kubelet.cgroupDriver "${cluster.kubelet.cgroupDriver}": a kubelet that adopts the runtime's driver (KubeletCgroupDriverFromCRI, on since 1.31) would switch drivers under running pods; set kubeplug:cluster.kubelet.cgroupDriver to "${swap.kubeletCgroupDriver}"`,
    );
  }

  const newHandlers = Object.keys(to.runtimes);
  for (const [i, handler] of from.handlers.entries()) {
    if (newHandlers.includes(handler)) continue;
    at.child("from", "handlers", i).problem(
      `the swap removes handler "${handler}" from pool "${pool.name}" (the new runtime has ${newHandlers.map((h) => `"${h}"`).join(", ")}): pods whose RuntimeClass uses "${handler}" would not start on its nodes again; add "${handler}" to the pool's runtime.runtimes, or move those pods off it first and drop it here`,
    );
  }

  Object.keys(swap.kubeletFlags).forEach((flag) => {
    if (ENDPOINT_FLAGS.includes(flag)) at.child("kubeletFlags", flag).problem(`${flag} is set by the swap itself (to the pool's runtime endpoint); remove it here`);
  });
  const version = cluster.kubelet.version;
  if (version) {
    for (const refused of flagsRefusedBy(version)) {
      if (swap.kubeletFlags[refused.flag] === undefined || swap.kubeletFlags[refused.flag] === null) continue;
      at.child("kubeletFlags", refused.flag).problem(
        `kubelet ${version} (kubeplug:cluster.kubelet.version) refuses ${refused.flag}, removed in ${refused.removedIn}: the kubelet would not start ("unknown flag: ${refused.flag}"); ${refused.instead}`,
      );
    }
  }

  const controlPlanes = cluster.nodes.filter((n) => n.roles.includes("control-plane"));
  const swapped = nodes.filter((n) => n.roles.includes("control-plane"));
  if (swapped.length > 0 && controlPlanes.length === 1 && !swap.allowControlPlaneOutage) {
    at.child("allowControlPlaneOutage").problem(
      `node "${swapped[0]!.name}" is the cluster's only control-plane node: swapping its runtime takes the API server, etcd and every controller down until it is back, and no kubectl call from the node can run meanwhile; add a control-plane node first, or set allowControlPlaneOutage: true`,
    );
  }
}
