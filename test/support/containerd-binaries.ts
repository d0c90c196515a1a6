import { join } from "node:path";
import { extractDeb, Suite } from "./debs";

/** Debian's builds of each containerd line that kubeplug renders for, run straight from the unpacked .deb. */
const DEBIAN_CONTAINERD: Record<string, { suite: Suite; version: string }> = {
  "1.6": { suite: "bookworm", version: "1.6.20" },
  "1.7": { suite: "trixie", version: "1.7.24" },
  "2.1": { suite: "sid", version: "2.1.9" },
};

export function containerdBinDir(line: "1.6" | "1.7" | "2.1"): string {
  return join(extractDeb(DEBIAN_CONTAINERD[line]!.suite, "containerd"), "usr", "bin");
}

export function debianContainerdVersion(line: "1.6" | "1.7" | "2.1"): string {
  return DEBIAN_CONTAINERD[line]!.version;
}
