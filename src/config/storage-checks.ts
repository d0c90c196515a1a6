import { z } from "zod";
import { StorageDriverEntry } from "../catalog/storage/types";
import { checkChartValues } from "./chart-values-checks";
import { Locator } from "./findings";
import { StorageConfig } from "./storage";
import { closest, unknownNameMessage } from "./suggest";
import { zodIssues } from "./zod";

/** The version a driver is pinned at: its chart's, or the upstream tag its vendored manifests come from. */
export const pinnedVersion = (entry: StorageDriverEntry): string => (entry.install.kind === "helm" ? entry.install.version : entry.upstream.tag);

export type StorageCatalog = Readonly<Record<string, StorageDriverEntry>>;

/**
 * Checks of `kubeplug:storage` that need the catalog or the cluster's pool names: every driver is one the catalog
 * knows, every class's parameters are its driver's, capabilities are honoured, defaults are unique.
 */
export function checkStorage(storage: StorageConfig, poolNames: readonly string[], catalog: StorageCatalog, at: Locator): void {
  for (const [id, settings] of Object.entries(storage.drivers)) {
    const here = at.child("drivers", id);
    if (!(id in catalog)) {
      here.problem(unknownNameMessage("storage driver", id, Object.keys(catalog)));
      continue;
    }
    const pinned = pinnedVersion(catalog[id]!);
    if (settings.version !== undefined && settings.version !== pinned) {
      here.child("version").problem(`${catalog[id]!.title} ${settings.version} is not in the catalog: kubeplug pins ${pinned}, the version its tests and docs/storage.md cover`);
    }
    if (settings.namespace !== undefined && catalog[id]!.install.kind === "manifests") {
      here.child("namespace").problem(`${catalog[id]!.title} is installed from upstream's manifests, which name their own namespace; kubeplug does not move them`);
    }
    if (Object.keys(settings.values).length > 0 && catalog[id]!.install.kind === "manifests") {
      here.child("values").problem(`${catalog[id]!.title} is installed from upstream's manifests, not a chart: it takes no values`);
    } else checkChartValues(catalog[id]!, settings.values, here.child("values"));
    settings.pools?.forEach((pool, i) => {
      if (!poolNames.includes(pool)) here.child("pools", i).problem(unknownNameMessage("pool", pool, poolNames));
    });
  }

  storage.hostClients?.pools?.forEach((pool, i) => {
    if (!poolNames.includes(pool)) at.child("hostClients", "pools", i).problem(unknownNameMessage("pool", pool, poolNames));
  });

  let defaultClass: string | undefined;
  for (const [name, sc] of Object.entries(storage.classes)) {
    const here = at.child("classes", name);
    const entry = driverOf(sc.driver, storage, catalog, here.child("driver"));
    if (sc.default) {
      if (defaultClass) here.child("default").problem(`a cluster has at most one default StorageClass, and "${defaultClass}" is already the default`);
      defaultClass ??= name;
    }
    if (!entry) continue;
    checkParameters(entry.parameters, sc.parameters, here.child("parameters"), entry, "StorageClass");
    const caps = entry.capabilities;
    if (sc.allowVolumeExpansion && !caps.expansion) {
      here.child("allowVolumeExpansion").problem(`${named(entry)} cannot expand volumes; remove allowVolumeExpansion`);
    }
    if (sc.volumeModes?.includes("Block") && !caps.block) {
      here.child("volumeModes").problem(`${named(entry)} has no raw block volumes; use Filesystem`);
    }
    if (caps.topologyKeys.length > 0 && sc.volumeBindingMode !== "WaitForFirstConsumer") {
      here.child("volumeBindingMode").warn(
        `${entry.title} volumes are bound to a topology (${caps.topologyKeys.join(", ")}): with ${sc.volumeBindingMode} a volume may be created where the pod cannot run; use WaitForFirstConsumer`,
      );
    }
  }

  const defaultSnapshotClass = new Map<string, string>();
  for (const [name, vsc] of Object.entries(storage.snapshotClasses)) {
    const here = at.child("snapshotClasses", name);
    const entry = driverOf(vsc.driver, storage, catalog, here.child("driver"));
    if (!entry) continue;
    if (!entry.capabilities.snapshots) {
      here.child("driver").problem(`${named(entry)} does not take snapshots; a VolumeSnapshotClass for it would never be served`);
      continue;
    }
    checkParameters(entry.snapshotParameters ?? z.strictObject({}), vsc.parameters, here.child("parameters"), entry, "VolumeSnapshotClass");
    if (vsc.default) {
      const other = defaultSnapshotClass.get(vsc.driver);
      if (other) here.child("default").problem(`${vsc.driver} has at most one default VolumeSnapshotClass, and "${other}" is already its default`);
      else defaultSnapshotClass.set(vsc.driver, name);
    }
  }
}

function driverOf(id: string, storage: StorageConfig, catalog: StorageCatalog, at: Locator): StorageDriverEntry | undefined {
  if (!(id in storage.drivers)) {
    const deployed = Object.keys(storage.drivers);
    at.problem(
      id in catalog
        ? `"${id}" is not deployed by this stack; add it under kubeplug:storage.drivers`
        : unknownNameMessage("storage driver", id, deployed.length > 0 ? deployed : Object.keys(catalog)),
    );
    return undefined;
  }
  return catalog[id];
}

/** The driver with its provisioner name, in one pair of brackets: "CSI host path driver (dev clusters, hostpath.csi.k8s.io)". */
function named(entry: StorageDriverEntry): string {
  return entry.title.endsWith(")") ? `${entry.title.slice(0, -1)}, ${entry.provisioner})` : `${entry.title} (${entry.provisioner})`;
}

/**
 * Unknown keys that name a credential (a Ceph userKey, an SMB password, a storage account key): the value would sit in a
 * StorageClass, which every user of the cluster can read. Only said when the key is no typo of a key the driver knows.
 */
const CREDENTIAL = /pass(word|wd|phrase)|secret|token|credential|keyring|key$/i;

function checkParameters(schema: z.ZodType, values: Readonly<Record<string, unknown>>, at: Locator, entry: StorageDriverEntry, kind: "StorageClass" | "VolumeSnapshotClass"): void {
  const what = kind === "StorageClass" ? "parameter" : "VolumeSnapshotClass parameter";
  const result = schema.safeParse(values, { reportInput: true });
  if (result.success) return;
  const known = Object.keys((schema as z.ZodObject).shape);
  for (const issue of zodIssues(result.error)) {
    const here = at.child(...issue.segments);
    if (issue.unknownKey === undefined) {
      here.problem(issue.message);
      continue;
    }
    const suggestion = closest(issue.unknownKey, known);
    if (!suggestion && CREDENTIAL.test(issue.unknownKey)) {
      here.problem(inlinedSecretMessage(issue.unknownKey, known, entry, kind));
      continue;
    }
    here.problem(
      `${entry.title} does not know the ${what} "${issue.unknownKey}"${suggestion ? `; did you mean "${suggestion}"?` : "."} ${known.length > 0 ? `It takes: ${known.join(", ")}` : `It takes no ${what}s`}`,
    );
  }
}

function inlinedSecretMessage(key: string, known: readonly string[], entry: StorageDriverEntry, kind: string): string {
  const calls = known.flatMap((k) => /^csi\.storage\.k8s\.io\/(.+)-secret-name$/.exec(k)?.[1] ?? []);
  const why = `"${key}" looks like a credential, and a ${kind} is readable by every user of the cluster`;
  return calls.length > 0
    ? `${why}: ${entry.title} takes credentials only from Secrets. Put it in one and reference it with csi.storage.k8s.io/<call>-secret-name and csi.storage.k8s.io/<call>-secret-namespace (calls: ${calls.join(", ")})`
    : `${why}; ${entry.title} takes no credentials from its ${kind}es (not even by Secret reference): remove it`;
}
