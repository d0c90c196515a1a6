/** Mount table lookups, so tests can prove they left no mounts behind and clean up the ones a crash leaves. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface MountInfo {
  /** The path inside the mounted filesystem; for nsfs mounts the namespace, e.g. `net:[4026532...]`. */
  root: string;
  mountPoint: string;
  fsType: string;
}

// mountinfo escapes space, tab, newline and backslash as octal.
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function readMounts(): MountInfo[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean).map((line) => {
    const fields = line.split(" ");
    const sep = fields.indexOf("-");
    return { root: unescape(fields[3]!), mountPoint: unescape(fields[4]!), fsType: fields[sep + 1]! };
  });
}

/** Mount points at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return readMounts().map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(prefix));
}

/**
 * Lazily unmounts `mountPoints`, deepest first. Lazy, because a mount a killed process still held may be busy;
 * detaching it is enough to make the tree safe to delete.
 */
export function unmount(mountPoints: string[]): void {
  const ordered = [...new Set(mountPoints)].sort((a, b) => b.length - a.length);
  for (const mp of ordered) {
    // A mount stacked over another at the same path needs one umount per layer.
    while (readMounts().some((m) => m.mountPoint === mp)) execFileSync("umount", ["-l", mp]);
  }
}
