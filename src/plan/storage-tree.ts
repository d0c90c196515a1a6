import yaml from "js-yaml";
import { snapshotterManifests, yamlDocuments } from "../components/storage/driver-manifests";
import { PlannedStorageDriver, StoragePlan } from "./storage-plan";

export const STORAGE_DIR = "cluster/storage";
export const STORAGE_CLASSES_FILE = `${STORAGE_DIR}/classes.yaml`;
export const SNAPSHOT_CLASSES_FILE = `${STORAGE_DIR}/snapshot-classes.yaml`;
export const SNAPSHOTTER_FILE = `${STORAGE_DIR}/snapshot-controller.yaml`;
export const driverFile = (id: string) => `${STORAGE_DIR}/drivers/${id}.yaml`;

const dump = (doc: unknown) => yaml.dump(doc, { noRefs: true, lineWidth: -1 });

/** The storage part of the render output: what each driver deploys, and every class as the API server gets it. */
export function storageTree(storage: StoragePlan): [path: string, content: string][] {
  const files: [string, string][] = storage.drivers.map((driver) => [driverFile(driver.id), driverContent(driver)]);
  if (storage.snapshotter) {
    const { crds, controller } = snapshotterManifests();
    files.push([
      SNAPSHOTTER_FILE,
      `# Managed by kubeplug: the external-snapshotter ${storage.snapshotter.upstream.tag} (${storage.snapshotter.upstream.repo}@${storage.snapshotter.upstream.commit}), vendored; the CRDs, then the controller, then the snapshot classes.\n${yamlDocuments([...crds, ...controller])}`,
    ]);
  }
  const objects = (header: string, planned: StoragePlan["classes"]) => `# Managed by kubeplug: ${header}\n${yamlDocuments(planned.map((o) => dump(o.manifest)))}`;
  if (storage.classes.length > 0) files.push([STORAGE_CLASSES_FILE, objects("StorageClasses, applied after their drivers.", storage.classes)]);
  if (storage.snapshotClasses.length > 0) files.push([SNAPSHOT_CLASSES_FILE, objects("VolumeSnapshotClasses, applied after the snapshot controller and their drivers.", storage.snapshotClasses)]);
  return files;
}

function driverContent(driver: PlannedStorageDriver): string {
  const { install, entry } = driver;
  const source = `${entry.upstream.repo}@${entry.upstream.tag} (${entry.upstream.commit})`;
  if (install.kind === "helm") {
    return `# Managed by kubeplug: ${entry.title}, Helm chart deployed with @pulumi/kubernetes helm.v4.Chart; facts from ${source}.\n${dump({
      provisioner: entry.provisioner,
      chart: { repo: install.repo, chart: install.chart, version: install.version },
      namespace: driver.namespace,
      nodes: driver.nodes,
      values: driver.values,
    })}`;
  }
  return `# Managed by kubeplug: ${entry.title} ${driver.version}, upstream manifests vendored from ${source}, kubelet root ${driver.kubeletDir}; nodes ${driver.nodes.join(", ") || "none"}.\n${yamlDocuments(driver.manifests)}`;
}
