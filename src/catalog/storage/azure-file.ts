import { z } from "zod";
import { asInteger, checkSecretReferences, choice, flag, integer, octal, secretReferences, SecretUse, text } from "./parameters";
import { SHARED_FILESYSTEM, StorageDriverEntry } from "./types";

// Read at kubernetes-sigs/azurefile-csi-driver v1.35.7 (19cda160): pkg/azurefile/controllerserver.go:145-340
// (keys lowercased; any other key "invalid parameter"), pkg/azurefile/azurefile.go (key names, :481-495 capabilities).
// Values are mostly left to the Azure API ("We leave validation of the values to the cloud provider").

const SECRETS: readonly SecretUse[] = ["provisioner", "node-stage", "controller-expand"];
const SKUS = [
  "Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_RAGZRS", "Premium_LRS", "Premium_ZRS",
  "StandardV2_LRS", "StandardV2_ZRS", "StandardV2_GRS", "StandardV2_GZRS", "PremiumV2_LRS", "PremiumV2_ZRS",
] as const;

const parameters = z
  .strictObject({
    skuName: choice(SKUS, "Storage account SKU; default Standard_LRS. NFS needs a Premium SKU.").optional(),
    storageAccountType: choice(SKUS, "Alias of skuName.").optional(),
    protocol: choice(["smb", "nfs"], "File share protocol; default smb.").optional(),
    location: text("Azure region of the storage account.").optional(),
    storageAccount: text("An existing storage account to use.").optional(),
    resourceGroup: text("Resource group of the storage account.").optional(),
    subscriptionID: text("Subscription of the storage account (needs resourceGroup).").optional(),
    server: text("Storage account server address instead of <account>.file.<suffix>.").optional(),
    storageEndpointSuffix: text("Storage endpoint suffix, e.g. core.chinacloudapi.cn.").optional(),
    shareName: text("Name of the file share (one share for the class).").optional(),
    shareNamePrefix: text("Prefix of generated share names: lowercase letters, digits, hyphens, under 21 characters.", { regex: /^[a-z0-9-]{1,20}$/, says: "lowercase letters, digits and hyphens, under 21 characters" }).optional(),
    folderName: text("Folder in the share the volume mounts; may use ${pvc.metadata.name} etc.").optional(),
    createFolderIfNotExist: flag("Create folderName when it is missing; default false.").optional(),
    enableLargeFileShares: flag("Large file shares (Standard SKUs); default false.").optional(),
    networkEndpointType: choice(["privateEndpoint", "serviceEndpoint"], "Network endpoint of a new storage account.").optional(),
    shareAccessTier: choice(["TransactionOptimized", "Hot", "Cool", "Premium"], "Access tier of the share.").optional(),
    accountAccessTier: choice(["Hot", "Cool", "Premium"], "Access tier of a new storage account.").optional(),
    disableDeleteRetentionPolicy: flag("Disable soft delete on a new account; default false.").optional(),
    allowBlobPublicAccess: flag("Allow public blob access on a new account; default false.").optional(),
    requireInfraEncryption: flag("Infrastructure encryption on a new account; default false.").optional(),
    matchTags: flag("Pick an existing account whose tags match; default false.").optional(),
    selectRandomMatchingAccount: flag("Pick a random matching account; default false.").optional(),
    tags: text("Tags of a new storage account, key1=val1,key2=val2.").optional(),
    tagValueDelimiter: text("Separator of tags instead of the comma.").optional(),
    accountQuota: integer("Quota of a storage account; default 102400.", { min: 1, unit: "GiB" }).optional(),
    provisionedIOPS: integer("IOPS of a share on a v2 SKU.", { min: 1 }).optional(),
    provisionedBandwidth: integer("Bandwidth of a share on a v2 SKU.", { min: 1, unit: "MiB/s" }).optional(),
    // SMB only.
    storeAccountKey: flag("Store the account key in a Secret (SMB); default true.").optional(),
    getLatestAccountKey: flag("Read the newest account key at mount (SMB); default false.").optional(),
    secretName: text("Name of the Secret the driver stores the account key in (SMB); it is written by the driver, not a credential here.").optional(),
    secretNamespace: text("Namespace of that Secret; default the claim's.").optional(),
    useDataPlaneAPI: choice(["true", "false", "oauth"], "Create shares through the data plane API.").optional(),
    enableMultichannel: flag("SMB multichannel (Premium); default false.").optional(),
    clientID: text("Client id of the managed identity that mounts (SMB).").optional(),
    // NFS only.
    allowSharedKeyAccess: flag("Shared key access on a new account (NFS); default true.").optional(),
    rootSquashType: choice(["AllSquash", "NoRootSquash", "RootSquash"], "Root squash of an NFS share.").optional(),
    mountPermissions: octal("Mode of the mounted directory (NFS); default 0777.").optional(),
    encryptInTransit: flag("Encrypt NFS traffic (aznfs); default false.").optional(),
    // Virtual network.
    vnetResourceGroup: text("Resource group of the virtual network.").optional(),
    vnetName: text("Virtual network of the private or service endpoint.").optional(),
    subnetName: text("Subnet(s) of the endpoint, comma-separated.").optional(),
    vnetLinkName: text("Private DNS zone link name.").optional(),
    fsGroupChangePolicy: choice(["OnRootMismatch", "Always", "None"], "How the driver applies fsGroup (NFS).").optional(),
    publicNetworkAccess: choice(["Enabled", "Disabled", "SecuredByPerimeter"], "Public network access of a new account.").optional(),
    ...secretReferences(SECRETS, "the storage account's name and key (azurestorageaccountname, azurestorageaccountkey)"),
  })
  .superRefine((p, ctx) => {
    if (p.skuName !== undefined && p.storageAccountType !== undefined) {
      ctx.addIssue({ code: "custom", path: ["storageAccountType"], message: `an alias of skuName, which is already ${JSON.stringify(p.skuName)}` });
    }
    if (p.subscriptionID !== undefined && p.resourceGroup === undefined) {
      ctx.addIssue({ code: "custom", path: ["resourceGroup"], message: "required with subscriptionID" });
    }
    const nfs = p.protocol === "nfs";
    for (const key of ["storeAccountKey", "getLatestAccountKey", "secretName", "secretNamespace", "enableMultichannel", "clientID"] as const) {
      if (nfs && p[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `an SMB setting; protocol is "nfs"` });
    }
    for (const key of ["allowSharedKeyAccess", "rootSquashType", "mountPermissions", "encryptInTransit"] as const) {
      if (!nfs && p[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `an NFS setting; protocol is ${JSON.stringify(p.protocol ?? "smb")}` });
    }
    const sku = p.skuName ?? p.storageAccountType;
    if (nfs && sku !== undefined && !sku.startsWith("Premium")) {
      ctx.addIssue({ code: "custom", path: [p.skuName !== undefined ? "skuName" : "storageAccountType"], message: `NFS shares need a Premium SKU, not ${JSON.stringify(sku)}` });
    }
    if (asInteger(p.accountQuota) === 0) ctx.addIssue({ code: "custom", path: ["accountQuota"], message: "must be at least 1" });
    checkSecretReferences(p, ctx, SECRETS);
  });

export const AZURE_FILE: StorageDriverEntry = {
  id: "azure-file",
  title: "Azure File CSI driver",
  provisioner: "file.csi.azure.com",
  csi: true,
  upstream: { repo: "kubernetes-sigs/azurefile-csi-driver", tag: "v1.35.7", commit: "19cda160b572929f0376c4f95dd097197b8e91b4" },
  // charts/v1.35.7/azurefile-csi-driver (chart 1.35.7, image v1.35.7), listed in charts/index.yaml. Not charts/latest.
  install: { kind: "helm", repo: "https://raw.githubusercontent.com/kubernetes-sigs/azurefile-csi-driver/master/charts", chart: "azurefile-csi-driver", version: "1.35.7" },
  // pkg/azurefile/azurefile.go:481-495: every access mode, no block.
  capabilities: SHARED_FILESYSTEM,
  parameters,
  snapshotParameters: z.strictObject({
    useDataPlaneAPI: choice(["true", "false", "oauth"], "Snapshot through the data plane API.").optional(),
    metadata: text("Metadata of the share snapshot, key1=val1,key2=val2.").optional(),
  }),
  // cifs-utils and nfs-common are in the plugin image (pkg/azurefileplugin/Dockerfile:39); the clients are the kernel's.
  nodePrerequisites: { packages: [], modules: ["cifs", "nfs"], filesystems: ["cifs", "nfs4"], services: [], iscsiInitiator: false },
  kubeletDir: { valuesPath: "linux.kubelet" },
  bundledSnapshotterOff: { "snapshot.enabled": false },
  notes: [
    "The controller reads the cloud config Secret kube-system/azure-cloud-provider.",
    "The chart's values.schema.json exists only in charts/latest (partial, additionalProperties: true) and is not in the 1.35.7 chart.",
    "Keys the code reads but kubeplug does not model (mount identity, confidential containers, private DNS zones, createAccount, useSecretCache) are refused.",
  ],
};
