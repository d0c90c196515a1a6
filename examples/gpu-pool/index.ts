// A GPU node pool added to a cluster that already runs: containerd with an `nvidia` handler on the
// GPU hosts (NVIDIA Container Toolkit from NVIDIA's apt repository, CDI on), then an `nvidia`
// RuntimeClass that schedules only onto them. The rest of the cluster is not touched.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ContainerdRuntime, RuntimeClass } from "kubeplug";

interface GpuHost {
  /** The node's name in Kubernetes. */
  readonly name: string;
  readonly address: string;
  /** Its /etc/ssh/ssh_host_ed25519_key.pub without the comment. */
  readonly hostKey: string;
}

const config = new pulumi.Config();
const hosts = config.requireObject<GpuHost[]>("gpuHosts");
// The cluster that is already there: RuntimeClasses go to its API server.
const existing = new k8s.Provider("existing-cluster", { kubeconfig: config.requireSecret("kubeconfig") });

// Steps log in as root with the SSH agent's key ($SSH_AUTH_SOCK), each host pinned to its key.
const gpu = new ContainerdRuntime("gpu", {
  nodes: hosts.map((h) => ({ name: h.name, connection: { host: h.address, hostKey: h.hostKey } })),
  config: {
    version: "2.1.9",
    runtimes: {
      runc: { engine: "runc" },
      nvidia: {
        engine: "nvidia",
        install: {
          from: "package",
          repository: {
            url: "https://nvidia.github.io/libnvidia-container/stable/deb/amd64",
            suite: "/",
            // `curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey`, checked by hand.
            signingKey: config.require("nvidiaRepositoryKey"),
          },
        },
      },
    },
  },
});

// The class picks GPU nodes by label; kubeplug refuses it if the selector could pick a node whose
// runtime lacks the handler. It appears once every GPU node's runtime is configured.
const label = { "kubeplug.example/gpu": "true" };
new RuntimeClass(
  "nvidia",
  { handler: "nvidia", nodeSelector: label, nodes: hosts.map((h) => ({ name: h.name, pool: "gpu", labels: label, handlers: gpu.handlers })) },
  { providers: { kubernetes: existing }, dependsOn: Object.values(gpu.nodeSteps).map((steps) => steps[steps.length - 1]!) },
);

export const runtimeEndpoint = gpu.runtimeEndpoint;
export const configHash = gpu.configHash;
