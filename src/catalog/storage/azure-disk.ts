import { z } from "zod";
import { asInteger, choice, flag, FSTYPE, fsType, integer, text } from "./parameters";
import { StorageDriverEntry } from "./types";

// Read at kubernetes-sigs/azuredisk-csi-driver v1.34.5 (fb4981e3): pkg/azureutils/azure_disk_utils.go:586-694
// (ParseDiskParameters: keys lowercased; any other key "invalid parameter" unless it is a device-setting/ key),
// pkg/azureconstants/azure_constants.go (key names), pkg/azuredisk/azuredisk.go:393-421 (capabilities).

const SKUS = ["Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "UltraSSD_LRS", "Premium_ZRS", "StandardSSD_ZRS", "PremiumV2_LRS"] as const;
const armId = { regex: /^\/subscriptions\//i, says: "an Azure resource id (/subscriptions/...)" };

const parameters = z
  .strictObject({
    skuName: choice(SKUS, "Disk SKU; default StandardSSD_LRS. PremiumV2_LRS and UltraSSD_LRS need cachingMode: None.").optional(),
    storageAccountType: choice(SKUS, "Alias of skuName.").optional(),
    [FSTYPE]: fsType(["ext4", "ext3", "ext2", "xfs", "btrfs"], "ext4"),
    cachingMode: choice(["None", "ReadOnly", "ReadWrite"], "Host caching; default ReadOnly.").optional(),
    location: text("Azure region of the disk; default the cluster's.").optional(),
    resourceGroup: text("Resource group of the disk; default the cluster's.").optional(),
    subscriptionID: text("Subscription of the disk (needs resourceGroup).").optional(),
    DiskIOPSReadWrite: integer("IOPS of UltraSSD_LRS and PremiumV2_LRS disks.", { min: 1 }).optional(),
    DiskMBpsReadWrite: integer("Throughput of UltraSSD_LRS and PremiumV2_LRS disks.", { min: 1, unit: "MB/s" }).optional(),
    LogicalSectorSize: choice(["512", "4096"], "Logical sector size of UltraSSD_LRS and PremiumV2_LRS disks; default 4096.").optional(),
    diskName: text("Name of the disk (one PV per class then).").optional(),
    diskEncryptionSetID: text("Disk encryption set for customer-managed keys.", armId).optional(),
    diskEncryptionType: choice(["EncryptionAtRestWithCustomerKey", "EncryptionAtRestWithPlatformAndCustomerKeys"], "Encryption type with diskEncryptionSetID.").optional(),
    tags: text("Tags of the disk, key1=val1,key2=val2.").optional(),
    tagValueDelimiter: text("Separator of tags instead of the comma.").optional(),
    maxShares: integer("Nodes that may attach the disk at once; ≥ 2 makes ReadWriteMany block volumes possible (azure_disk_utils.go:633-640).", { min: 1 }).optional(),
    perfProfile: choice(["none", "basic", "advanced"], "Device tuning on the node; default none.").optional(),
    networkAccessPolicy: choice(["AllowAll", "DenyAll", "AllowPrivate"], "Export/import network access of the disk; default DenyAll.").optional(),
    publicNetworkAccess: choice(["Enabled", "Disabled"], "Public network access to the disk's export; default Disabled.").optional(),
    diskAccessID: text("Disk access resource for networkAccessPolicy: AllowPrivate.", armId).optional(),
    enableBursting: flag("On-demand bursting (Premium, > 512 GiB); default false.").optional(),
    enablePerformancePlus: flag("Performance plus for large disks; default false.").optional(),
    userAgent: text("User agent of the driver's Azure API calls.").optional(),
    attachDiskInitialDelay: integer("Delay before the first attach of a batch; default 1000.", { min: 0, unit: "ms" }).optional(),
  })
  .superRefine((p, ctx) => {
    if (p.skuName !== undefined && p.storageAccountType !== undefined) {
      ctx.addIssue({ code: "custom", path: ["storageAccountType"], message: `an alias of skuName, which is already ${JSON.stringify(p.skuName)}` });
    }
    const sku = p.skuName ?? p.storageAccountType;
    if ((sku === "PremiumV2_LRS" || sku === "UltraSSD_LRS") && p.cachingMode !== undefined && p.cachingMode !== "None") {
      ctx.addIssue({ code: "custom", path: ["cachingMode"], message: `${sku} disks take no host caching: cachingMode must be None, not ${JSON.stringify(p.cachingMode)}` });
    }
    if (p.subscriptionID !== undefined && p.resourceGroup === undefined) {
      ctx.addIssue({ code: "custom", path: ["resourceGroup"], message: "required with subscriptionID" });
    }
    if (p.diskEncryptionType !== undefined && p.diskEncryptionSetID === undefined) {
      ctx.addIssue({ code: "custom", path: ["diskEncryptionSetID"], message: `required with diskEncryptionType ${JSON.stringify(p.diskEncryptionType)}` });
    }
    if ((asInteger(p.DiskIOPSReadWrite) ?? asInteger(p.DiskMBpsReadWrite)) !== undefined && sku !== "PremiumV2_LRS" && sku !== "UltraSSD_LRS") {
      ctx.addIssue({ code: "custom", path: [p.DiskIOPSReadWrite !== undefined ? "DiskIOPSReadWrite" : "DiskMBpsReadWrite"], message: `for UltraSSD_LRS and PremiumV2_LRS disks; skuName is ${JSON.stringify(sku ?? "StandardSSD_LRS")}` });
    }
  });

export const AZURE_DISK: StorageDriverEntry = {
  id: "azure-disk",
  title: "Azure Disk CSI driver",
  provisioner: "disk.csi.azure.com",
  csi: true,
  upstream: { repo: "kubernetes-sigs/azuredisk-csi-driver", tag: "v1.34.5", commit: "fb4981e375c55d93dab0cfcfd0b4644921d095b7" },
  // charts/v1.34.5/azuredisk-csi-driver (chart 1.34.5, image v1.34.5), listed in charts/index.yaml. Not charts/latest (image latest).
  install: { kind: "helm", repo: "https://raw.githubusercontent.com/kubernetes-sigs/azuredisk-csi-driver/master/charts", chart: "azuredisk-csi-driver", version: "1.34.5" },
  capabilities: {
    // ReadWriteMany only for block volumes with maxShares ≥ 2 (azure_disk_utils.go:438-466).
    expansion: true,
    snapshots: true,
    block: true,
    topologyKeys: ["topology.disk.csi.azure.com/zone"],
    accessModes: ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"],
  },
  parameters,
  snapshotParameters: z.strictObject({
    // docs/driver-parameters.md (VolumeSnapshotClass).
    resourceGroup: text("Resource group of the snapshot; default the source disk's.").optional(),
    incremental: flag("Incremental snapshot; default true on Azure public cloud.").optional(),
    dataAccessAuthMode: choice(["None", "AzureActiveDirectory"], "Data access authentication of the snapshot.").optional(),
    tags: text("Tags of the snapshot, key1=val1,key2=val2.").optional(),
    userAgent: text("User agent of the driver's Azure API calls.").optional(),
    subscriptionID: text("Subscription of the snapshot (needs incremental: false).").optional(),
    location: text("Region to copy the snapshot to.").optional(),
    instantAccessDurationMinutes: integer("Instant access duration of PremiumV2/Ultra snapshots.", { min: 60, max: 300, unit: "minutes" }).optional(),
  }),
  // Managed disks attach as SCSI/NVMe devices; the node image formats and mounts them. The controller reads the cloud
  // config Secret kube-system/azure-cloud-provider (values.yaml:41-42).
  nodePrerequisites: { packages: [], modules: [], filesystems: [], services: [], iscsiInitiator: false },
  kubeletDir: { valuesPath: "linux.kubelet" },
  bundledSnapshotterOff: { "snapshot.enabled": false },
  notes: [
    "`writeAcceleratorEnabled` is in the docs' parameter table, but v1.34.5's parser has no case for it and refuses it as an invalid parameter; kubeplug refuses it too.",
    "`device-setting/<path>` keys (node device tuning with perfProfile) are accepted by the driver but not modelled; kubeplug refuses them.",
    "The chart can install the snapshot CRDs and controller (snapshot.enabled); kubeplug keeps that off.",
  ],
};
