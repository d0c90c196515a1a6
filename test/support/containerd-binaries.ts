import { join } from "node:path";
import { extractDeb, Suite } from "./debs";

export type DebianContainerdLine = "1.6" | "1.7" | "2.1";

/** Debian's builds of each containerd line that kubeplug renders for, run straight from the unpacked .deb. */
const DEBIAN_CONTAINERD: Record<DebianContainerdLine, { suite: Suite; version: string }> = {
  "1.6": { suite: "bookworm", version: "1.6.20" },
  "1.7": { suite: "trixie", version: "1.7.24" },
  "2.1": { suite: "sid", version: "2.1.9" },
};

/** Lines kubeplug supports that no reachable Debian suite packages: no real binary of them runs here. */
export const NO_BINARY_HERE = "no binary of this line is available on the test machine (Debian packages containerd 1.6, 1.7 and 2.1 only)";

/** The Debian-packaged line a containerd version belongs to, or undefined when Debian has none (2.0, 2.2, 2.3). */
export function debianContainerdLine(version: string): DebianContainerdLine | undefined {
  const line = version.split(".").slice(0, 2).join(".");
  return line in DEBIAN_CONTAINERD ? (line as DebianContainerdLine) : undefined;
}

export function containerdBinDir(line: DebianContainerdLine): string {
  return join(extractDeb(DEBIAN_CONTAINERD[line].suite, "containerd"), "usr", "bin");
}

export function debianContainerdVersion(line: DebianContainerdLine): string {
  return DEBIAN_CONTAINERD[line].version;
}

/** The binary of a line as a test or the key catalog names it ("containerd 2.1.9 from Debian sid"). */
export function debianContainerdName(line: DebianContainerdLine): string {
  return `containerd ${DEBIAN_CONTAINERD[line].version} from Debian ${DEBIAN_CONTAINERD[line].suite}`;
}
