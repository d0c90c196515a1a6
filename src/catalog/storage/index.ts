import { AWS_EBS } from "./aws-ebs";
import { AWS_EFS } from "./aws-efs";
import { AZURE_DISK } from "./azure-disk";
import { AZURE_FILE } from "./azure-file";
import { CEPH_RBD } from "./ceph-rbd";
import { CEPHFS } from "./cephfs";
import { GCP_FILESTORE } from "./gcp-filestore";
import { GCP_PD } from "./gcp-pd";
import { HOST_PATH } from "./host-path";
import { LOCAL_PATH } from "./local-path";
import { NFS } from "./nfs";
import { SMB } from "./smb";
import { StorageDriverEntry } from "./types";
import { VSPHERE } from "./vsphere";

export { driverManifests, kubeplugChartValues, vendoredManifest, withImages, withKubeletDir } from "./manifests";
export { parameterDoc } from "./parameters";
export { chartValuesSchema, ChartValues, mergeValues } from "./chart-values";
export { SNAPSHOTTER, SNAPSHOTTER_ID } from "./snapshot-controller";

const ENTRIES = [AWS_EBS, AWS_EFS, GCP_PD, GCP_FILESTORE, AZURE_DISK, AZURE_FILE, VSPHERE, CEPH_RBD, CEPHFS, NFS, SMB, HOST_PATH, LOCAL_PATH];

/** Every driver kubeplug can deploy, by catalog id. */
export const STORAGE_DRIVERS: Readonly<Record<string, StorageDriverEntry>> = Object.fromEntries(ENTRIES.map((entry) => [entry.id, entry]));
