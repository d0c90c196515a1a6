import { SnapshotterEntry } from "./types";

/**
 * The VolumeSnapshot CRDs and the snapshot-controller, installed once per cluster for every driver that takes snapshots.
 * Vendored from kubernetes-csi/external-snapshotter v8.6.0 (78e32cd8): client/config/crd/ (the six CRDs of its
 * kustomization) and deploy/kubernetes/snapshot-controller/. The tag's Deployment still runs snapshot-controller:v8.5.0
 * (HEAD has v8.6.0); kubeplug pins what the tag ships. Group snapshots need --feature-gates=CSIVolumeGroupSnapshot=true.
 */
export const SNAPSHOTTER: SnapshotterEntry = {
  upstream: { repo: "kubernetes-csi/external-snapshotter", tag: "v8.6.0", commit: "78e32cd84e0abec2621924a30e38c755f93e180a" },
  crdFiles: [
    "snapshot.storage.k8s.io_volumesnapshotclasses.yaml",
    "snapshot.storage.k8s.io_volumesnapshotcontents.yaml",
    "snapshot.storage.k8s.io_volumesnapshots.yaml",
    "groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses.yaml",
    "groupsnapshot.storage.k8s.io_volumegroupsnapshotcontents.yaml",
    "groupsnapshot.storage.k8s.io_volumegroupsnapshots.yaml",
  ],
  controllerFiles: ["rbac-snapshot-controller.yaml", "setup-snapshot-controller.yaml"],
  images: { "registry.k8s.io/sig-storage/snapshot-controller": "registry.k8s.io/sig-storage/snapshot-controller:v8.5.0" },
};

/** The manifests/ folder the snapshotter's files are vendored in. */
export const SNAPSHOTTER_ID = "snapshot-controller";
