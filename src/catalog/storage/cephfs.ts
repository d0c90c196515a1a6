import { z } from "zod";
import { cephChart, cephSecretReferences, cephSharedParameters, cephSnapshotParameters, CEPH_NOTES, checkCephSecrets, clusterID } from "./ceph";
import { choice, flag, text } from "./parameters";
import { SHARED_FILESYSTEM, StorageDriverEntry } from "./types";

// ceph/ceph-csi v3.12.2 (dcf14882): internal/cephfs/store/volumeoptions.go (parameters), internal/cephfs/driver.go:137-152
// (capabilities), internal/cephfs/controllerserver.go:676-678 (no block). The driver does not refuse unknown keys.

const parameters = z
  .strictObject({
    clusterID: clusterID(),
    fsName: text("CephFS file system the subvolumes are created in. Required."),
    pool: text("Data pool of the subvolumes; default the file system's.").optional(),
    mounter: choice(["kernel", "fuse"], "Mount with the kernel client or ceph-fuse; default: the kernel client when the node has one.").optional(),
    kernelMountOptions: text("Options of kernel mounts, comma-separated.").optional(),
    fuseMountOptions: text("Options of ceph-fuse mounts, comma-separated.").optional(),
    backingSnapshot: flag("Volumes from snapshots are read-only views of the snapshot; code default false (volumeoptions.go:294-306; the docs say true). Not with pool.").optional(),
    snapshotNamePrefix: text("Prefix of snapshot names; default csi-snap-.").optional(),
    ...cephSharedParameters(),
    ...cephSecretReferences(),
  })
  .superRefine((p, ctx) => {
    if (p.backingSnapshot !== undefined && p.pool !== undefined && (p.backingSnapshot === true || p.backingSnapshot === "true")) {
      ctx.addIssue({ code: "custom", path: ["pool"], message: "not with backingSnapshot: true (the volume is a view of the snapshot's pool)" });
    }
    checkCephSecrets(p, ctx);
  });

export const CEPHFS: StorageDriverEntry = {
  id: "cephfs",
  title: "Ceph CSI CephFS driver",
  provisioner: "cephfs.csi.ceph.com",
  csi: true,
  upstream: { repo: "ceph/csi-charts", tag: "ceph-csi-cephfs-3.17.1", commit: "00a38c445782b2793286611ac71da1b061e33959" },
  install: cephChart("ceph-csi-cephfs"),
  capabilities: SHARED_FILESYSTEM,
  parameters,
  snapshotParameters: cephSnapshotParameters(),
  // ceph-fuse is in the plugin image; kernel mounts need the host's ceph module (kernel ≥ 4.17, or --forcecephkernelclient).
  nodePrerequisites: { packages: [], modules: ["ceph"], filesystems: ["ceph"], services: [], iscsiInitiator: false },
  kubeletDir: { valuesPath: "kubeletDir" },
  notes: [...CEPH_NOTES, "Without the kernel's ceph module, set mounter: fuse (ceph-fuse from the plugin image)."],
};
