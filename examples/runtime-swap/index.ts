// A runtime swap of one pool: the `workers` pool moves from containerd 1.7 to 2.1 in waves of one
// node (drain, stop the old runtime, install the new, repoint the kubelet, wait for Ready, uncordon),
// while the `system` pool keeps its runtime. The cluster is described in the stack file's shape,
// typed, checked by the same validator as a stack file, planned, and mapped onto resources.
import * as pulumi from "@pulumi/pulumi";
import { Cluster, KubeplugCluster, planCluster, validateStackConfig } from "kubeplug";

interface Host {
  readonly name: string;
  readonly address: string;
  readonly hostKey: string;
}

const config = new pulumi.Config();
const system = config.requireObject<Host[]>("systemNodes");
const workers = config.requireObject<Host[]>("workerNodes");
const node = (pool: string) => (h: Host) => ({ name: h.name, pool, address: h.address, ssh: { hostKey: h.hostKey } });

const cluster: KubeplugCluster = {
  name: pulumi.getStack(),
  // Steps log in as root with the SSH agent's key ($SSH_AUTH_SOCK).
  ssh: { agent: true },
  kubelet: { cgroupDriver: "systemd" },
  pools: [
    { name: "system", runtime: { kind: "containerd", version: "1.7.24" } },
    {
      name: "workers",
      runtime: { kind: "containerd", version: "2.1.9" },
      swap: {
        from: { kind: "containerd", version: "1.7.24" },
        maxUnavailable: 1,
        drain: { timeoutSeconds: 600 },
        // On each node: the kubeconfig its kubectl drains and uncordons with.
        kubectl: { kubeconfig: "/etc/kubeplug/swap.kubeconfig" },
      },
    },
  ],
  nodes: [...system.map(node("system")), ...workers.map(node("workers"))],
};

const { config: stack, warnings } = validateStackConfig(pulumi.getStack(), { "kubeplug:cluster": cluster });
for (const w of warnings) pulumi.log.warn(`${w.path}: ${w.message}`);
const swapped = new Cluster("swap", { plan: planCluster(stack) });

export const runtimeEndpoints = swapped.runtimeEndpoints;
