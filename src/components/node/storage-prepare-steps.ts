import { canonicalModule, MODULE_FACTS } from "../../catalog/kernel-modules";
import { NodePrerequisites } from "../../catalog/storage/types";
import { NODE_PREPARE_STEP } from "./prepare-steps";
import { scriptAsset } from "./shell";
import { StepDefinition, StepNode } from "./step";

export const STORAGE_PREPARE_STEP = "storage-prepare";
/** open-iscsi's iscsid reads the node's iSCSI name from it; targets grant access by that name. */
export const ISCSI_INITIATOR_FILE = "/etc/iscsi/initiatorname.iscsi";

/**
 * The helper mount(8) runs for a filesystem type (it looks in /sbin, which is /usr/sbin on merged-/usr
 * Debian), by the package that ships it: without it the kubelet's mount of an NFS or SMB volume fails
 * with "wrong fs type, bad option, bad superblock", which names neither the package nor the node.
 * Read from the bookworm packages: nfs-common 1:2.6.2-4+deb12u1, cifs-utils 2:7.0-2.
 */
export const MOUNT_HELPERS: Readonly<Record<string, string>> = {
  "nfs-common": "/sbin/mount.nfs",
  "cifs-utils": "/sbin/mount.cifs",
};

/** One prerequisite and the drivers that need it (sorted), so every message can say "nfs-common (for nfs)". */
export interface Need {
  readonly name: string;
  readonly drivers: readonly string[];
}

/** The union of the node prerequisites of every driver whose node pods a node hosts: each item once, sorted. */
export interface MergedPrerequisites {
  readonly packages: readonly Need[];
  readonly modules: readonly Need[];
  readonly filesystems: readonly Need[];
  readonly services: readonly Need[];
  /** Drivers that need an iSCSI initiator name; empty when none does. */
  readonly iscsiInitiator: readonly string[];
}

export interface DriverPrerequisites {
  /** Catalog id of the driver (`nfs`, `iscsi`, ...). */
  readonly driver: string;
  readonly prerequisites: NodePrerequisites;
}

type ListKind = "packages" | "modules" | "filesystems" | "services";

/**
 * The names travel to the node script as `name=drivers` entries and land in apt, modprobe and
 * systemctl command lines: a catalog entry outside these shapes is a bug in the catalog.
 */
const NAME_SHAPES: Readonly<Record<ListKind | "driver", RegExp>> = {
  // Debian Policy 5.6.1: lowercase letters, digits, "+", "-", "."; at least two characters.
  packages: /^[a-z0-9][a-z0-9+.-]+$/,
  modules: /^[A-Za-z0-9_-]+$/,
  filesystems: /^[a-z0-9][a-z0-9_.-]*$/,
  // systemd.unit(5) names, without a template instance's escapes; ".service" is implied when absent.
  services: /^[A-Za-z0-9][A-Za-z0-9:_.@-]*$/,
  driver: /^[a-z0-9][a-z0-9-]*$/,
};

function checkName(kind: ListKind | "driver", name: string, driver: string): void {
  if (!NAME_SHAPES[kind].test(name)) throw new Error(`storage driver ${JSON.stringify(driver)}: ${kind === "driver" ? "catalog id" : `nodePrerequisites.${kind} entry`} ${JSON.stringify(name)} does not match ${NAME_SHAPES[kind]}`);
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Pure: the prerequisites of several drivers as one set, remembering which driver needs what. */
export function mergePrerequisites(entries: readonly DriverPrerequisites[]): MergedPrerequisites {
  const lists: Record<ListKind, Map<string, Set<string>>> = { packages: new Map(), modules: new Map(), filesystems: new Map(), services: new Map() };
  const initiator = new Set<string>();
  for (const { driver, prerequisites } of entries) {
    checkName("driver", driver, driver);
    for (const kind of Object.keys(lists) as ListKind[]) {
      for (const raw of prerequisites[kind]) {
        checkName(kind, raw, driver);
        // modprobe treats rbd and r-b-d alike; the catalog may not.
        const name = kind === "modules" ? canonicalModule(raw) : raw;
        const drivers = lists[kind].get(name) ?? new Set<string>();
        drivers.add(driver);
        lists[kind].set(name, drivers);
      }
    }
    if (prerequisites.iscsiInitiator) initiator.add(driver);
  }
  const needs = (map: Map<string, Set<string>>): Need[] =>
    [...map.keys()].sort(byName).map((name) => ({ name, drivers: [...map.get(name)!].sort(byName) }));
  return {
    packages: needs(lists.packages),
    modules: needs(lists.modules),
    filesystems: needs(lists.filesystems),
    services: needs(lists.services),
    iscsiInitiator: [...initiator].sort(byName),
  };
}

/** Every driver the merged set serves, sorted. */
export function mergedDrivers(merged: MergedPrerequisites): string[] {
  const all = [merged.packages, merged.modules, merged.filesystems, merged.services].flat().flatMap((need) => need.drivers);
  return [...new Set([...all, ...merged.iscsiInitiator])].sort(byName);
}

export function storagePrepareSummary(merged: MergedPrerequisites): string {
  const drivers = mergedDrivers(merged);
  if (drivers.length === 0) return "no storage driver needs anything on this node";
  const names = (needs: readonly Need[]) => needs.map((need) => need.name).join(", ") || "none";
  return [
    `node prerequisites of ${drivers.join(", ")}: packages ${names(merged.packages)}`,
    `modules ${names(merged.modules)}`,
    ...(merged.filesystems.length > 0 ? [`filesystems ${names(merged.filesystems)}`] : []),
    `services ${names(merged.services)}`,
    ...(merged.iscsiInitiator.length > 0 ? [`iSCSI initiator name (set once, then kept)`] : []),
  ].join("; ");
}

/**
 * The storage-prepare step: packages, mount helpers, kernel modules and filesystems, services and
 * the iSCSI initiator name the CSI drivers' node plugins use on the host. The plan runs it after
 * node-prepare and before the runtime install, on nodes of pools that host a driver's node pods.
 */
export function storagePrepareStep(node: StepNode, merged: MergedPrerequisites): StepDefinition {
  const known = merged.modules.filter((m) => Object.hasOwn(MODULE_FACTS, m.name));
  const entry = (kind: string) => (need: Need) => `${kind}:${need.name}=${need.drivers.join(",")}`;
  return {
    node,
    id: STORAGE_PREPARE_STEP,
    phase: "install",
    summary: storagePrepareSummary(merged),
    vars: {
      KP_PACKAGES: merged.packages.map((p) => p.name),
      KP_MODULES: merged.modules.map((m) => m.name),
      KP_FILESYSTEMS: merged.filesystems.map((f) => f.name),
      KP_SERVICES: merged.services.map((s) => s.name),
      KP_NEEDED_BY: [
        ...merged.packages.map(entry("package")),
        ...merged.modules.map(entry("module")),
        ...merged.filesystems.map(entry("filesystem")),
        ...merged.services.map(entry("service")),
      ],
      KP_MODULE_EVIDENCE: known.flatMap((m) => MODULE_FACTS[m.name]!.evidence.map((e) => `${m.name}=${e}`)),
      KP_MOUNT_HELPERS: merged.packages.filter((p) => Object.hasOwn(MOUNT_HELPERS, p.name)).map((p) => `${p.name}=${MOUNT_HELPERS[p.name]}`),
      KP_ISCSI_INITIATOR: merged.iscsiInitiator.join(","),
      KP_INITIATOR_FILE: ISCSI_INITIATOR_FILE,
    },
    files: [],
    body: [scriptAsset(__dirname, "storage-prepare.sh")],
    dependsOn: [NODE_PREPARE_STEP],
  };
}
