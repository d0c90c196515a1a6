import { mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Cgroups of one node each. With no systemd on the host to give it a scope, `nspawn --keep-unit` stays in
 * its caller's cgroup and roots every container there: all nodes' systemds then share one tree, so a
 * unit's cgroup (/system.slice/containerd.service) is the same directory on every node, and one node
 * starting or stopping a unit moves or kills another node's processes. (Seen here: a node's
 * systemd-remount-fs failed with "Failed to attach to cgroup ...: No such file or directory" when
 * three nodes booted at once.) Only the hierarchies systemd manages are split, name=systemd and the
 * unified one; the resource controllers stay as the caller had them, limits included.
 */
const PARENT = "kubeplug-testbed";

/** Mount points of the hierarchies systemd manages, from this process's mount table. */
function systemdHierarchies(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .flatMap((line) => {
      // mountinfo: ID PARENT DEV ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
      const [before, after] = line.split(" - ");
      const mountPoint = before?.split(" ")[4];
      const [fsType, , superOptions] = after?.split(" ") ?? [];
      const managed = fsType === "cgroup2" || (fsType === "cgroup" && superOptions?.split(",").includes("name=systemd"));
      return managed && mountPoint ? [mountPoint] : [];
    });
}

/** Creates a cgroup for one node in every systemd-managed hierarchy and returns their directories. */
export function createNodeCgroups(runId: string, node: string): string[] {
  return systemdHierarchies().map((hierarchy) => {
    const dir = join(hierarchy, PARENT, runId, node);
    mkdirSync(dir, { recursive: true });
    return dir;
  });
}

/**
 * Removes a node's cgroups with what the container's systemd left below them, deepest first (a cgroup
 * goes only once empty), then the bed's and the shared parent once nothing else is left in them.
 */
export function removeNodeCgroups(dirs: string[]): void {
  for (const dir of dirs) {
    removeTree(dir);
    for (const parent of [dirname(dir), dirname(dirname(dir))]) {
      try {
        rmdirSync(parent);
      } catch {
        // Another node or bed still uses it.
      }
    }
  }
}

function removeTree(dir: string): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) removeTree(join(dir, entry.name));
  rmdirSync(dir);
}
