import { z } from "zod";
import { HOST_CLIENT_NAMES } from "../catalog/storage/host-clients";
import { describeValue } from "./path";
import { dnsLabel, labels } from "./primitives";
import { strictObject } from "./zod";

/**
 * `kubeplug:storage`: the CSI drivers a cluster gets, from the catalog in src/catalog/storage, and the
 * StorageClasses and VolumeSnapshotClasses its users need. What a driver's parameters mean is the
 * catalog's business: storage-checks.ts validates each class against its driver's entry.
 */

/** A Kubernetes object name (DNS-1123 subdomain), as StorageClass and VolumeSnapshotClass names are. */
const objectName = (what: string) =>
  z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    error: (issue) => `${describeValue(issue.input)} is not a valid ${what}: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`,
  }).max(253);

/** Parameter values as a stack writes them; the class's driver types each one. */
const parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({});

const driver = strictObject({
  version: z.string().min(1).optional().describe("The chart or manifest version the stack expects; it must be the one the catalog pins (docs/storage.md), so a catalog bump shows up in review as a failed check. Unset: the catalog's."),
  namespace: dnsLabel("namespace").optional().describe("Namespace a chart-installed driver is released into; kubeplug creates it (labelled for privileged pods) unless it is kube-system. Default: kube-system. Drivers installed from vendored manifests stay in the namespace upstream wrote."),
  pools: z.array(z.string().min(1)).optional().describe("Pools whose nodes host the driver's node pods and get its node prerequisites; default: every pool."),
  values: z.record(z.string(), z.unknown()).default({}).describe("Chart values over kubeplug's, checked against the chart's values.schema.json where it ships one; kubeplug sets the kubelet directory and keeps bundled snapshot controllers off."),
});
export type StorageDriverConfig = z.infer<typeof driver>;

const storageClass = strictObject({
  driver: z.string().min(1).describe("The catalog id of the driver that provisions it (kubeplug:storage.drivers key): aws-ebs, nfs, host-path, ..."),
  parameters: parameters.describe("StorageClass parameters, typed by the driver (docs/storage.md lists each driver's); secrets are referenced by name and namespace, never inlined."),
  reclaimPolicy: z.enum(["Delete", "Retain"]).default("Delete").describe("What happens to a volume when its claim is deleted."),
  volumeBindingMode: z.enum(["Immediate", "WaitForFirstConsumer"]).default("Immediate").describe("WaitForFirstConsumer for drivers whose volumes live in one zone or on one node (kubeplug warns otherwise)."),
  allowVolumeExpansion: z.boolean().optional().describe("Whether claims may grow; refused for drivers that cannot expand."),
  mountOptions: z.array(z.string().min(1)).optional().describe("Mount options for volumes of this class (e.g. nfsvers=4.1)."),
  default: z.boolean().default(false).describe("Mark as the cluster's default StorageClass (at most one)."),
  volumeModes: z.array(z.enum(["Filesystem", "Block"])).optional().describe("Volume modes claims of this class may ask for; Block is refused for drivers without raw block volumes. Checked by kubeplug only; Kubernetes has no such field."),
  labels: labels.optional().describe("Labels of the StorageClass object."),
});
export type StorageClassConfig = z.infer<typeof storageClass>;

const snapshotClass = strictObject({
  driver: z.string().min(1).describe("The catalog id of the driver whose snapshots it describes."),
  deletionPolicy: z.enum(["Delete", "Retain"]).default("Delete").describe("What happens to the storage snapshot when its VolumeSnapshotContent is deleted."),
  parameters: parameters.describe("VolumeSnapshotClass parameters, typed by the driver."),
  default: z.boolean().default(false).describe("Mark as the default snapshot class of its driver (at most one per driver)."),
});
export type SnapshotClassConfig = z.infer<typeof snapshotClass>;

const hostClients = strictObject({
  clients: z.array(z.enum(HOST_CLIENT_NAMES)).min(1).describe("nfs (nfs-common), smb (cifs-utils), iscsi (open-iscsi, iscsid, an initiator name set once and kept), multipath (multipath-tools, multipathd)."),
  pools: z.array(z.string().min(1)).optional().describe("Pools whose nodes get them; default: every pool."),
}).describe("Volume clients on the nodes' hosts, for mounts no CSI node plugin makes: the kubelet's in-tree nfs and iscsi volumes, csi-driver-smb's Kerberos mounts, iSCSI targets of drivers kubeplug does not deploy. The catalog's CSI drivers bring their own mount tools in their images.");

export const storageConfig = strictObject({
  hostClients: hostClients.optional(),
  drivers: z.record(z.string().min(1), driver).default({}).describe("CSI drivers (and rancher's local-path provisioner) by catalog id; each is deployed from its pinned upstream source."),
  classes: z.record(objectName("StorageClass name"), storageClass).default({}).describe("StorageClasses by name."),
  snapshotClasses: z.record(objectName("VolumeSnapshotClass name"), snapshotClass).default({}).describe("VolumeSnapshotClasses by name; the first one makes kubeplug install the snapshot CRDs and snapshot-controller once."),
});
export type StorageConfig = z.infer<typeof storageConfig>;
