import { z } from "zod";
import { FSTYPE, fsType, text } from "./parameters";
import { SHARED_BLOCK, StorageDriverEntry } from "./types";

// Read at kubernetes-sigs/vsphere-csi-driver v3.7.3 (27ec91d0): pkg/csi/service/common/util.go:243-300 (vanilla
// ParseStorageClassParams: keys lowercased, any other key "invalid param" unless csimigration: "true").

const parameters = z.strictObject({
  storagepolicyname: text("SPBM storage policy the volume is placed by.").optional(),
  datastoreurl: text("Datastore to create the volume on, ds:///vmfs/volumes/...", { regex: /^ds:\/\/\//, says: "a datastore URL (ds:///...)" }).optional(),
  // nfs4 makes a file volume (vSAN file services), the only kind that is ReadWriteMany.
  [FSTYPE]: fsType(["ext4", "xfs", "ext3", "nfs4"], "ext4"),
});

export const VSPHERE: StorageDriverEntry = {
  id: "vsphere",
  title: "vSphere CSI driver",
  provisioner: "csi.vsphere.vmware.com",
  csi: true,
  upstream: { repo: "kubernetes-sigs/vsphere-csi-driver", tag: "v3.7.3", commit: "27ec91d0a0fc820724cc5d7a0a2f69d12bc4ff34" },
  install: {
    kind: "manifests",
    files: ["namespace.yaml", "vsphere-csi-driver.yaml"],
    images: {
      "registry.k8s.io/csi-vsphere/driver": "registry.k8s.io/csi-vsphere/driver:v3.7.3",
      "registry.k8s.io/csi-vsphere/syncer": "registry.k8s.io/csi-vsphere/syncer:v3.7.3",
      "registry.k8s.io/sig-storage/csi-attacher": "registry.k8s.io/sig-storage/csi-attacher:v4.9.0",
      "registry.k8s.io/sig-storage/csi-resizer": "registry.k8s.io/sig-storage/csi-resizer:v1.12.0",
      "registry.k8s.io/sig-storage/csi-provisioner": "registry.k8s.io/sig-storage/csi-provisioner:v4.0.1",
      "registry.k8s.io/sig-storage/csi-snapshotter": "registry.k8s.io/sig-storage/csi-snapshotter:v8.2.0",
      "registry.k8s.io/sig-storage/csi-node-driver-registrar": "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.13.0",
      "registry.k8s.io/sig-storage/livenessprobe": "registry.k8s.io/sig-storage/livenessprobe:v2.15.0",
    },
  },
  // pkg/csi/service/vanilla/controller.go:2343-2353; block only ReadWriteOnce, ReadWriteMany only for file volumes
  // (pkg/csi/service/common/util.go:195-231). Topology labels are under topology.csi.vmware.com/ and are off unless
  // the provisioner's topology flags are set, so kubeplug lists none.
  capabilities: SHARED_BLOCK,
  parameters,
  // Block volumes are virtual disks the VM sees; VM settings (disk.EnableUUID, hardware version) were not found in the repo.
  // File volumes are NFS 4.1 mounts by the kernel.
  nodePrerequisites: { packages: [], modules: [], filesystems: [], services: [], iscsiInitiator: false },
  kubeletDir: { manifestPath: "/var/lib/kubelet" },
  notes: [
    "At master the manifests deploy driver:latest and syncer:latest; the vendored files are tag v3.7.3, whose images are v3.7.3.",
    "The vsphere-config-secret (vCenter credentials) in vmware-system-csi is not part of the manifests.",
    "The in-tree migration keys (csimigration, datastore, diskformat) are not modelled and are refused.",
    "File volumes (csi.storage.k8s.io/fstype: nfs4) need vSAN file services and the kernel NFS client on the nodes.",
  ],
};
