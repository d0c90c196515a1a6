import { z } from "zod";
import { choice, flag, FSTYPE, fsType, integer, isOn, text } from "./parameters";
import { EVERY_ACCESS_MODE, StorageDriverEntry } from "./types";

// Read at kubernetes-sigs/gcp-compute-persistent-disk-csi-driver v1.26.4 (6e7ea1c1): pkg/parameters/constants.go,
// pkg/parameters/parameters.go (keys lowercased; any other key: "parameters contains invalid option").

const DRIVER_IMAGE = "registry.k8s.io/cloud-provider-gcp/gcp-compute-persistent-disk-csi-driver";
const keyValueList = { regex: /^[^=,]+=[^=,]*(,[^=,]+=[^=,]*)*$/, says: "a list k1=v1,k2=v2" };

const parameters = z
  .strictObject({
    type: text("Disk type (pd-standard, pd-balanced, pd-ssd, pd-extreme, hyperdisk-*; dynamic with a driver flag); default pd-standard (parameters.go:34).").optional(),
    "replication-type": choice(["none", "regional-pd"], "Zonal (none, the default) or regional disks.").optional(),
    "disk-encryption-kms-key": text("Full resource name of the Cloud KMS key (case-sensitive).").optional(),
    labels: text("Labels of the disk.", keyValueList).optional(),
    "provisioned-iops-on-create": integer("IOPS of pd-extreme and Hyperdisk volumes.", { min: 1 }).optional(),
    "provisioned-throughput-on-create": text("Throughput of Hyperdisk volumes, a quantity in Mi such as 250Mi (parameters.go: must not be negative).", { regex: /^\d+(Mi)?$/, says: "a throughput such as 250Mi" }).optional(),
    "availability-class": choice(["none", "regional-hard-failover"], "Failover of regional disks (controller.go:441).").optional(),
    "enable-confidential-storage": flag("Confidential (Hyperdisk) storage; needs disk-encryption-kms-key.").optional(),
    "storage-pools": text("Storage pools to create the disk in (projects/P/zones/Z/storagePools/N, comma-separated); behind a driver flag.").optional(),
    "data-cache-size": text("Local SSD data cache per node, e.g. 100Gi; behind the data-cache flag.", { regex: /^\d+Gi$/, says: "a size in Gi such as 100Gi" }).optional(),
    "data-cache-mode": choice(["writethrough", "writeback"], "Data cache mode; writethrough when a size is set.").optional(),
    "resource-tags": text("Resource manager tags, parent/key/value,...").optional(),
    "enable-multi-zone-provisioning": flag("Provision read-only multi-zone disks; behind a driver flag.").optional(),
    "access-mode": choice(["READ_WRITE_SINGLE", "READ_WRITE_MANY", "READ_ONLY_MANY"], "Hyperdisk access mode (pkg/constants/constants.go:50-52).").optional(),
    "use-allowed-disk-topology": flag("Keep the disk in the zones its type allows; default false. The README spells it use-allowed-disk-topologies, which the code refuses.").optional(),
    "hyperdisk-type": text("Hyperdisk type picked by a dynamic volume (type: dynamic).").optional(),
    "pd-type": text("PD type picked by a dynamic volume (type: dynamic).").optional(),
    "disk-type-preference": choice(["hyperdisk-type", "pd-type"], "Which of hyperdisk-type and pd-type a dynamic volume prefers.").optional(),
    [FSTYPE]: fsType(["ext4", "xfs", "ext3", "ext2"], "ext4"),
  })
  .superRefine((p, ctx) => {
    if (isOn(p["enable-confidential-storage"]) && p["disk-encryption-kms-key"] === undefined) {
      ctx.addIssue({ code: "custom", path: ["disk-encryption-kms-key"], message: "required with enable-confidential-storage: true (parameters.go: a valid disk-encryption-kms-key)" });
    }
    if (p["availability-class"] === "regional-hard-failover" && p["replication-type"] !== "regional-pd") {
      ctx.addIssue({ code: "custom", path: ["availability-class"], message: `"regional-hard-failover" is for regional disks; replication-type is ${JSON.stringify(p["replication-type"] ?? "none")}` });
    }
    for (const key of ["hyperdisk-type", "pd-type", "disk-type-preference"] as const) {
      if (p[key] !== undefined && p.type?.toLowerCase() !== "dynamic") {
        ctx.addIssue({ code: "custom", path: [key], message: `only with type: dynamic (type is ${JSON.stringify(p.type ?? "pd-standard")})` });
      }
    }
  });

export const GCP_PD: StorageDriverEntry = {
  id: "gcp-pd",
  title: "Google Compute Engine PD CSI driver",
  provisioner: "pd.csi.storage.gke.io",
  csi: true,
  upstream: { repo: "kubernetes-sigs/gcp-compute-persistent-disk-csi-driver", tag: "v1.26.4", commit: "6e7ea1c1fec09b9826b2f9922eb8919435284c6b" },
  install: {
    kind: "manifests",
    files: ["gcp-pd-csi-driver.yaml"],
    images: {
      // The tag's image overlay still pins v1.17.4; the driver the tag names is v1.26.4.
      [DRIVER_IMAGE]: `${DRIVER_IMAGE}:v1.26.4`,
      "registry.k8s.io/sig-storage/csi-provisioner": "registry.k8s.io/sig-storage/csi-provisioner:v6.0.0",
      "registry.k8s.io/sig-storage/csi-attacher": "registry.k8s.io/sig-storage/csi-attacher:v4.8.1",
      "registry.k8s.io/sig-storage/csi-resizer": "registry.k8s.io/sig-storage/csi-resizer:v2.0.0",
      "registry.k8s.io/sig-storage/csi-snapshotter": "registry.k8s.io/sig-storage/csi-snapshotter:v8.2.1",
      "registry.k8s.io/sig-storage/csi-node-driver-registrar": "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.13.0",
    },
  },
  capabilities: {
    // pkg/gce-pd-csi-driver/gce-pd-driver.go:62-83; multi-writer for Hyperdisk access modes only.
    expansion: true,
    snapshots: true,
    block: true,
    topologyKeys: ["topology.gke.io/zone"],
    accessModes: EVERY_ACCESS_MODE,
  },
  parameters,
  snapshotParameters: z.strictObject({
    // pkg/parameters/parameters.go:242-276.
    "storage-locations": text("Cloud Storage location of the snapshot (one region or multi-region).").optional(),
    "snapshot-type": choice(["snapshots", "images"], "A disk snapshot (default) or a disk image.").optional(),
    "image-family": text("Image family, with snapshot-type: images.").optional(),
    labels: text("Labels of the snapshot.", keyValueList).optional(),
    "resource-tags": text("Resource manager tags, parent/key/value,...").optional(),
  }),
  // Persistent disks attach as block devices; the node image formats and mounts them.
  nodePrerequisites: { packages: [], modules: [], filesystems: [], services: [], iscsiInitiator: false },
  kubeletDir: { manifestPath: "/var/lib/kubelet" },
  notes: [
    "No Helm chart upstream: the vendored file is the stable-master kustomize overlay rendered at v1.26.4, with the driver image pinned to v1.26.4 (the overlay says v1.17.4).",
    "The render has no Namespace (gce-pd-csi-driver) and no cloud-sa Secret (a service-account key mounted at /etc/cloud-sa/cloud-sa.json); both come from the cluster's operator.",
    "The render includes the Windows node DaemonSet (csi-gce-pd-node-win), which needs csi-proxy and schedules only on Windows nodes.",
  ],
};
