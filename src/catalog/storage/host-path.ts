import { z } from "zod";
import { text } from "./parameters";
import { StorageDriverEntry } from "./types";

// Read at kubernetes-csi/csi-driver-host-path v1.18.0 (cc78ee78): pkg/hostpath/controllerserver.go:910-935 (capabilities),
// deploy/kubernetes-1.34/hostpath/ (the manifests deploy-hostpath.sh applies for kubernetes-latest at this tag).

const parameters = z.strictObject({
  // Any other key is passed through as volume context; kubeplug knows only the one the driver reads.
  kind: text("Storage kind matched against the plugin's --capacity kind=quantity flags (storage capacity tracking).").optional(),
});

export const HOST_PATH: StorageDriverEntry = {
  id: "host-path",
  title: "CSI host path driver (dev clusters)",
  provisioner: "hostpath.csi.k8s.io",
  csi: true,
  upstream: { repo: "kubernetes-csi/csi-driver-host-path", tag: "v1.18.0", commit: "cc78ee78ae23908c9e0607df2fe09c7ecfa52597" },
  install: {
    kind: "manifests",
    files: [
      "rbac-external-provisioner.yaml",
      "rbac-external-attacher.yaml",
      "rbac-external-resizer.yaml",
      "rbac-external-health-monitor.yaml",
      "rbac-external-snapshotter.yaml",
      "csi-hostpath-driverinfo.yaml",
      "csi-hostpath-plugin.yaml",
    ],
    images: {
      // The v1.18.0 manifests still run plugin v1.17.1; kubeplug keeps what the tag was tested with, explicitly.
      "registry.k8s.io/sig-storage/hostpathplugin": "registry.k8s.io/sig-storage/hostpathplugin:v1.17.1",
      "registry.k8s.io/sig-storage/csi-external-health-monitor-controller": "registry.k8s.io/sig-storage/csi-external-health-monitor-controller:v0.18.0",
      "registry.k8s.io/sig-storage/csi-node-driver-registrar": "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.17.0",
      "registry.k8s.io/sig-storage/livenessprobe": "registry.k8s.io/sig-storage/livenessprobe:v2.19.0",
      "registry.k8s.io/sig-storage/csi-attacher": "registry.k8s.io/sig-storage/csi-attacher:v4.12.0",
      "registry.k8s.io/sig-storage/csi-provisioner": "registry.k8s.io/sig-storage/csi-provisioner:v6.3.0",
      "registry.k8s.io/sig-storage/csi-resizer": "registry.k8s.io/sig-storage/csi-resizer:v2.2.1",
      "registry.k8s.io/sig-storage/csi-snapshotter": "registry.k8s.io/sig-storage/csi-snapshotter:v8.6.0",
    },
  },
  capabilities: {
    // Volumes are directories (or loop devices for block) on the one node the plugin runs on.
    expansion: true,
    snapshots: true,
    block: true,
    topologyKeys: ["topology.hostpath.csi/node"],
    accessModes: ["ReadWriteOnce", "ReadWriteOncePod"],
  },
  parameters,
  // Block volumes are loop devices the privileged plugin sets up; nothing is installed on the host.
  nodePrerequisites: { packages: [], modules: [], filesystems: [], services: [], iscsiInitiator: false },
  kubeletDir: { manifestPath: "/var/lib/kubelet" },
  notes: [
    "Upstream: a demo implementation for CI testing that should not be used for real data; the plugin is one privileged StatefulSet replica, so every volume lives on one node.",
    "deploy-hostpath.sh downloads the sidecars' RBAC at run time; the vendored files are those RBAC files at the sidecar tags (namespace default, as the script uses).",
    "The snapshot CRDs and controller are a prerequisite (kubeplug installs them once).",
  ],
};
