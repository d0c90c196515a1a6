import { z } from "zod";
import { flag, isOn, text } from "./parameters";
import { StorageDriverEntry } from "./types";

// Read at rancher/local-path-provisioner v0.0.37 (49b2be8e): provisioner.go:311-340 (pathFromPattern), :375-530
// (Provision: parameters, access modes, node affinity), main.go:36 (the helper image the code defaults to).

const SAFE_PATTERN = /^\{\{\s*\.PVC\.Namespace\s*\}\}\/\{\{\s*\.PVC\.Name\s*\}\}\//;

const parameters = z
  .strictObject({
    nodePath: text("One of the paths the provisioner's nodePathMap lists for the node; default the node's first path.", { regex: /^\//, says: "an absolute path" }).optional(),
    pathPattern: text("Go template of the volume's directory under the node path; must start with {{ .PVC.Namespace }}/{{ .PVC.Name }}/ unless allowUnsafePathPattern. Default <pv>_<namespace>_<claim>.").optional(),
    allowUnsafePathPattern: flag("Allow a pathPattern outside {{ .PVC.Namespace }}/{{ .PVC.Name }}/; default false (also read from the class annotation).").optional(),
    userPattern: text("Go template of the directory's owner user, passed to the helper pod (also read from the class annotation).").optional(),
    groupPattern: text("Go template of the directory's group (also read from the class annotation).").optional(),
    permPattern: text("Go template of the directory's mode (also read from the class annotation).").optional(),
    nodeAffinityKey: text("Node label the volume's node affinity uses; default kubernetes.io/hostname.").optional(),
  })
  .superRefine((p, ctx) => {
    if (p.pathPattern !== undefined && !isOn(p.allowUnsafePathPattern) && !SAFE_PATTERN.test(p.pathPattern)) {
      ctx.addIssue({ code: "custom", path: ["pathPattern"], message: `${JSON.stringify(p.pathPattern)} must start with {{ .PVC.Namespace }}/{{ .PVC.Name }}/ (provisioner.go:333), or set allowUnsafePathPattern: true` });
    }
  });

export const LOCAL_PATH: StorageDriverEntry = {
  id: "local-path",
  title: "Rancher local-path provisioner (not CSI)",
  provisioner: "rancher.io/local-path",
  csi: false,
  upstream: { repo: "rancher/local-path-provisioner", tag: "v0.0.37", commit: "49b2be8e26d6d34c9afaa21fa33108d2e82f8955" },
  install: {
    kind: "manifests",
    files: ["local-path-storage.yaml"],
    images: {
      "docker.io/rancher/local-path-provisioner": "docker.io/rancher/local-path-provisioner:v0.0.37",
      // The manifest's helper pod template names busybox without a tag (the chart says busybox:latest); kubeplug pins
      // the helper image the provisioner's own code defaults to.
      "docker.io/library/busybox": "docker.io/rancher/library-busybox:1.32.1",
    },
  },
  capabilities: {
    // README "Cons": no capacity limits, no expansion, no snapshots. RWX/ROX only with sharedFileSystemPath (not modelled).
    expansion: false,
    snapshots: false,
    block: false,
    topologyKeys: ["kubernetes.io/hostname"],
    accessModes: ["ReadWriteOnce", "ReadWriteOncePod"],
  },
  parameters,
  // A helper pod makes and removes plain directories under /opt/local-path-provisioner; the kubelet bind-mounts them.
  nodePrerequisites: { packages: [], modules: [], filesystems: [], services: [], iscsiInitiator: false },
  notes: [
    "Not a CSI driver: a provisioner that creates hostPath/local PersistentVolumes with node affinity. There is no CSIDriver object, no CSI sidecar, no snapshots and no expansion, and requested sizes are not enforced.",
    "The vendored manifest also creates a StorageClass named local-path (WaitForFirstConsumer, Delete) and the config map with nodePathMap /opt/local-path-provisioner.",
    "The chart exists only in git (deploy/chart/local-path-provisioner, no chart repository), so kubeplug applies the tag's plain manifest.",
  ],
};
