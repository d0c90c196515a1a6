import { z } from "zod";
import { choice, text } from "./parameters";
import { EVERY_ACCESS_MODE, StorageDriverEntry } from "./types";

// The vendored manifests are the v1.13.1 tag (3b447dec), whose overlay deploys the driver image v1.7.0 (1499748748d1).
// The parameters are v1.7.0's, the code that runs: pkg/csi_driver/controller.go:618-668 at v1.7.0 (keys lowercased, any
// other key "invalid parameter"). v1.13.1 adds protocol and mount-options, which v1.7.0 refuses.

const parameters = z.strictObject({
  // controller.go:41-47 at v1.7.0; the Cloud API validates the tier and the capacity (standard 1–63.9 TB, ...).
  tier: choice(["standard", "premium", "basic_hdd", "basic_ssd", "enterprise", "high_scale_ssd", "zonal"], "Filestore service tier; default standard.").optional(),
  network: text("VPC network of the instance; default default.").optional(),
  "connect-mode": choice(["DIRECT_PEERING", "PRIVATE_SERVICE_ACCESS"], "How the instance joins the network; default DIRECT_PEERING (checked by the driver).").optional(),
  "reserved-ipv4-cidr": text("CIDR the instance's IP range is taken from.", { regex: /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, says: "an IPv4 CIDR" }).optional(),
  "reserved-ip-range": text("Name of an allocated IP range (with PRIVATE_SERVICE_ACCESS).").optional(),
  "instance-encryption-kms-key": text("Cloud KMS key that encrypts the instance.").optional(),
  labels: text("Labels of the instance, k1=v1,k2=v2.", { regex: /^[^=,]+=[^=,]*(,[^=,]+=[^=,]*)*$/, says: "a list k1=v1,k2=v2" }).optional(),
  "resource-tags": text("Resource manager tags, parent/key/value,... (at most 50).").optional(),
  "nfs-export-options-on-create": text("NFS export options as JSON; behind the driver's feature flag.").optional(),
});

export const GCP_FILESTORE: StorageDriverEntry = {
  id: "gcp-filestore",
  title: "Google Cloud Filestore CSI driver",
  provisioner: "filestore.csi.storage.gke.io",
  csi: true,
  upstream: { repo: "kubernetes-sigs/gcp-filestore-csi-driver", tag: "v1.13.1", commit: "3b447dec862059379bf6d69dbcb0d8e3e564cefe" },
  install: {
    kind: "manifests",
    files: ["gcp-filestore-csi-driver.yaml"],
    images: {
      // What the tag's stable-master image overlay pins (the README says the same: latest image v1.7.0).
      "registry.k8s.io/cloud-provider-gcp/gcp-filestore-csi-driver": "registry.k8s.io/cloud-provider-gcp/gcp-filestore-csi-driver:v1.7.0",
      "registry.k8s.io/sig-storage/csi-provisioner": "registry.k8s.io/sig-storage/csi-provisioner:v3.4.0",
      "registry.k8s.io/sig-storage/csi-resizer": "registry.k8s.io/sig-storage/csi-resizer:v1.13.2",
      "registry.k8s.io/sig-storage/csi-snapshotter": "registry.k8s.io/sig-storage/csi-snapshotter:v6.1.0",
      "registry.k8s.io/sig-storage/csi-node-driver-registrar": "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.7.0",
    },
  },
  capabilities: {
    // pkg/csi_driver/gcfs_driver.go:162-189 at v1.7.0: create/delete, expand, snapshots (Filestore backups); no block.
    expansion: true,
    snapshots: true,
    block: false,
    topologyKeys: ["topology.gke.io/zone"],
    accessModes: EVERY_ACCESS_MODE,
  },
  parameters,
  snapshotParameters: z.strictObject({
    // docs/kubernetes/backup.md; controller.go:1128-1137 at v1.13.1.
    type: choice(["backup"], "Snapshots are Filestore backups; backup is also the default.").optional(),
  }),
  // nfs-common and rpcbind are in the node image (Dockerfile:25-52), which runs an nfs-services container; the NFS client is the kernel's.
  nodePrerequisites: { packages: [], modules: ["nfs"], filesystems: ["nfs"], services: [], iscsiInitiator: false },
  kubeletDir: { manifestPath: "/var/lib/kubelet" },
  notes: [
    "Upstream prefers GKE's managed Filestore driver and calls the manual deploy not an officially supported Google product.",
    "The vendored render is v1.13.1's stable-master overlay, which deploys the v1.7.0 driver image; parameters are v1.7.0's. The gcp-filestore-csi-driver-sa Secret (cluster_setup.sh) is not part of it.",
    "Multishare (enterprise) StorageClass keys are not modelled and are refused.",
  ],
};
