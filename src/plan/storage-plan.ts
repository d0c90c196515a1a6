import { ChartValues, kubeplugChartValues, mergeValues, SNAPSHOTTER, STORAGE_DRIVERS } from "../catalog/storage";
import { HOST_CLIENTS, HostClient } from "../catalog/storage/host-clients";
import { InstallSource, SnapshotterEntry, StorageDriverEntry } from "../catalog/storage/types";
import { DriverPrerequisites } from "../components/node/storage-prepare-steps";
import { StorageConfig } from "../config/storage";
import { pinnedVersion } from "../config/storage-checks";
import { manifestNamespace, vendoredDriverManifests } from "../components/storage/driver-manifests";
import { snapshotClassObject, StorageObject, storageClassObject } from "../components/storage/storage-manifests";

/** A driver as the cluster deploys it: its pinned source, the values kubeplug sets, and the nodes that host its node pods. */
export interface PlannedStorageDriver {
  readonly id: string;
  readonly entry: StorageDriverEntry;
  /** The chart version or upstream tag the catalog pins. */
  readonly version: string;
  /** The chart's release namespace, or the one upstream's manifests use. */
  readonly namespace: string;
  /** Whether kubeplug creates the namespace: not kube-system or default, and not created by the vendored manifests themselves. */
  readonly createNamespace: boolean;
  readonly install: InstallSource;
  /** Vendored manifests (manifest installs) with images pinned and the kubelet root moved; empty for charts. */
  readonly manifests: readonly string[];
  /** Helm values (chart installs): the bundled snapshotter kept off, the kubelet directory, then the stack's values. */
  readonly values: ChartValues;
  /** The kubelet root directory the driver is told (kubeplug:cluster.kubelet.rootDir). */
  readonly kubeletDir: string;
  /** Nodes of the pools that host the driver's node pods: each gets the driver's node prerequisites first. */
  readonly nodes: readonly string[];
}

export interface PlannedStorageObject {
  readonly name: string;
  readonly driver: string;
  /** The cluster's default StorageClass, or its driver's default snapshot class. */
  readonly default: boolean;
  readonly manifest: StorageObject;
}

export interface StoragePlan {
  readonly drivers: readonly PlannedStorageDriver[];
  readonly classes: readonly PlannedStorageObject[];
  readonly snapshotClasses: readonly PlannedStorageObject[];
  /** The snapshot CRDs and controller, installed once when any snapshot class is requested. */
  readonly snapshotter?: SnapshotterEntry;
  /** Volume clients on the hosts (kubeplug:storage.hostClients) and the nodes that get them. */
  readonly hostClients: { readonly clients: readonly HostClient[]; readonly nodes: readonly string[] };
}

/** Where charts are released when the stack names no namespace: where every catalog chart's own install docs put it. */
export const CHART_NAMESPACE = "kube-system";

/** What planStorage needs of the cluster: the kubelet's root and which node is in which pool. */
export interface StorageCluster {
  readonly kubeletDir: string;
  readonly nodes: readonly { readonly name: string; readonly pool: string }[];
}

/** The storage part of the cluster plan; `storage` has passed checkStorage, so every driver is in the catalog. */
export function planStorage(storage: StorageConfig, cluster: StorageCluster): StoragePlan {
  const drivers = Object.entries(storage.drivers).map(([id, settings]): PlannedStorageDriver => {
    const entry = STORAGE_DRIVERS[id]!;
    const hosts = inPools(cluster.nodes, settings.pools);
    const manifests = vendoredDriverManifests(entry, cluster.kubeletDir);
    const vendored = manifests.length > 0 ? manifestNamespace(manifests) : undefined;
    const namespace = vendored?.namespace ?? settings.namespace ?? CHART_NAMESPACE;
    return {
      id,
      entry,
      version: pinnedVersion(entry),
      namespace,
      createNamespace: !["kube-system", "default"].includes(namespace) && !vendored?.createsIt,
      install: entry.install,
      manifests,
      values: entry.install.kind === "helm" ? mergeValues(kubeplugChartValues(entry, cluster.kubeletDir), settings.values) : {},
      kubeletDir: cluster.kubeletDir,
      nodes: hosts.map((n) => n.name),
    };
  });
  const objects = <T extends { driver: string; default: boolean }>(records: Readonly<Record<string, T>>, render: (name: string, value: T, entry: StorageDriverEntry) => StorageObject) =>
    Object.entries(records).map(([name, value]) => ({ name, driver: value.driver, default: value.default, manifest: render(name, value, STORAGE_DRIVERS[value.driver]!) }));
  const snapshotClasses = objects(storage.snapshotClasses, snapshotClassObject);
  const clients = storage.hostClients;
  return {
    hostClients: { clients: clients?.clients ?? [], nodes: clients ? inPools(cluster.nodes, clients.pools).map((n) => n.name) : [] },
    drivers,
    classes: objects(storage.classes, storageClassObject),
    snapshotClasses,
    ...(snapshotClasses.length > 0 ? { snapshotter: SNAPSHOTTER } : {}),
  };
}

/**
 * What each node's storage-prepare step installs: the prerequisites of every driver whose node pods it
 * hosts, then the host clients. One pass over the drivers' node lists, so large pools stay linear.
 */
export function storagePrerequisitesByNode(storage: StoragePlan): Map<string, DriverPrerequisites[]> {
  const byNode = new Map<string, DriverPrerequisites[]>();
  const add = (node: string, needs: DriverPrerequisites) => {
    const list = byNode.get(node);
    if (list) list.push(needs);
    else byNode.set(node, [needs]);
  };
  for (const d of storage.drivers) for (const node of d.nodes) add(node, { driver: d.id, prerequisites: d.entry.nodePrerequisites });
  for (const node of storage.hostClients.nodes) for (const c of storage.hostClients.clients) add(node, { driver: `${c}-client`, prerequisites: HOST_CLIENTS[c] });
  return byNode;
}

const inPools = <N extends { readonly pool: string }>(nodes: readonly N[], pools: readonly string[] | undefined) => (pools ? nodes.filter((n) => pools.includes(n.pool)) : nodes);
