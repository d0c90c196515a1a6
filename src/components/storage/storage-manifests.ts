import { StorageDriverEntry } from "../../catalog/storage/types";
import { SnapshotClassConfig, StorageClassConfig } from "../../config/storage";

/** A StorageClass or VolumeSnapshotClass as the API server receives it; pure data for the plan and render. */
export interface StorageObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly annotations?: Readonly<Record<string, string>>; readonly labels?: Readonly<Record<string, string>> };
  readonly [field: string]: unknown;
}

const DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";
const DEFAULT_SNAPSHOT_CLASS = "snapshot.storage.kubernetes.io/is-default-class";

/** StorageClass parameters are strings to the API: typed values are written as YAML would print them. */
function stringParameters(parameters: Readonly<Record<string, string | number | boolean>>): Record<string, string> | undefined {
  const entries = Object.entries(parameters);
  return entries.length > 0 ? Object.fromEntries(entries.map(([k, v]) => [k, String(v)])) : undefined;
}

export function storageClassObject(name: string, sc: StorageClassConfig, entry: StorageDriverEntry): StorageObject {
  const parameters = stringParameters(sc.parameters);
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name, ...(sc.default ? { annotations: { [DEFAULT_CLASS]: "true" } } : {}), ...(sc.labels ? { labels: sc.labels } : {}) },
    provisioner: entry.provisioner,
    ...(parameters ? { parameters } : {}),
    reclaimPolicy: sc.reclaimPolicy,
    volumeBindingMode: sc.volumeBindingMode,
    ...(sc.allowVolumeExpansion !== undefined ? { allowVolumeExpansion: sc.allowVolumeExpansion } : {}),
    ...(sc.mountOptions ? { mountOptions: sc.mountOptions } : {}),
  };
}

export function snapshotClassObject(name: string, vsc: SnapshotClassConfig, entry: StorageDriverEntry): StorageObject {
  const parameters = stringParameters(vsc.parameters);
  return {
    apiVersion: "snapshot.storage.k8s.io/v1",
    kind: "VolumeSnapshotClass",
    metadata: { name, ...(vsc.default ? { annotations: { [DEFAULT_SNAPSHOT_CLASS]: "true" } } : {}) },
    driver: entry.provisioner,
    deletionPolicy: vsc.deletionPolicy,
    ...(parameters ? { parameters } : {}),
  };
}
