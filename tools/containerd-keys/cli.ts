/**
 * `npm run containerd-keys [-- --source <containerd git dir>]`: rewrites src/catalog/containerd-keys.json.
 *
 * The key trees come from Debian's containerd binaries (test/support/containerd-binaries.ts fetches and
 * unpacks the .debs; needs apt-get and dpkg-deb, as the `real` tests do). The source facts (plugin IDs,
 * top-level keys) come from a git directory of github:containerd/containerd when `--source` names one,
 * and are kept as they are in the file otherwise. test/real/containerd-keys.real.test.ts checks that the
 * key trees in the file are what the binaries report.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContainerdKeyLine, KeyAddition } from "../../src/catalog/containerd-keys";
import { containerdBinDir, debianContainerdName, DebianContainerdLine } from "../../test/support/containerd-binaries";
import { captureKeys } from "./capture";
import { commitOf, pluginsFromSource, topLevelFromSource } from "./source";

export const CATALOG_FILE = join(__dirname, "..", "..", "src", "catalog", "containerd-keys.json");

/** The newest tag of each line (the release catalog's newest version), whose source the file records. */
export const SOURCE_TAGS: Record<string, string> = { "1.6": "v1.6.39", "1.7": "v1.7.34", "2.0": "v2.0.11", "2.1": "v2.1.9", "2.2": "v2.2.7", "2.3": "v2.3.4" };

export const CAPTURED_LINES: readonly DebianContainerdLine[] = ["1.6", "1.7", "2.1"];

/**
 * Keys patch releases after the captured binary added, read in containerd's source (git log -S between the
 * captured tag and the newest tag of the line; `since` is the first tag that has the key).
 */
export const ADDITIONS: Record<string, KeyAddition[]> = {
  "1.6": [
    { path: ["plugins", "io.containerd.snapshotter.v1.overlayfs", "sync_remove"], since: "1.6.24", commit: "453fa397a1f0f00871ff1ca4314b65e898e33661" },
    { path: ["plugins", "io.containerd.snapshotter.v1.overlayfs", "mount_options"], since: "1.6.24", commit: "8cd40e1d0f13e5ddfef13833b265f6dfa298ec69" },
    { path: ["plugins", "io.containerd.grpc.v1.cri", "ignore_deprecation_warnings"], since: "1.6.29", commit: "3785deac4fab3aa30be9a55812dc78b2e1841e29" },
    { path: ["plugins", "io.containerd.grpc.v1.cri", "drain_exec_sync_io_timeout"], since: "1.6.29", commit: "0438e477c35faad18e6b7f3a6b7d8a8f787f5efc" },
    { path: ["proxy_plugins", "*", "platform"], since: "1.6.32", commit: "83cf026b261e83b10c1c724991669d6d298997b4" },
    { path: ["proxy_plugins", "*", "exports"], since: "1.6.32", commit: "cd9b7464045eb7bad9506b6579caa558c868dc95" },
  ],
  "1.7": [{ path: ["plugins", "io.containerd.service.v1.diff-service", "sync_fs"], since: "1.7.26", commit: "8bc21cba7516727b294d4dd6a3e8859cbdd146a8" }],
};

type Entry = Omit<ContainerdKeyLine, "line">;

function main(): void {
  const args = process.argv.slice(2);
  const sourceIndex = args.indexOf("--source");
  const gitDir = sourceIndex >= 0 ? args[sourceIndex + 1] : undefined;
  if (sourceIndex >= 0 && !gitDir) throw new Error("--source needs a containerd git directory");
  const previous = existsSync(CATALOG_FILE) ? (JSON.parse(readFileSync(CATALOG_FILE, "utf8")) as { lines: Record<string, Entry> }).lines : {};

  const lines: Record<string, Entry> = {};
  for (const [line, tag] of Object.entries(SOURCE_TAGS)) {
    const source = gitDir
      ? { tag, commit: commitOf(gitDir, tag), plugins: pluginsFromSource(gitDir, tag), topLevel: topLevelFromSource(gitDir, tag) }
      : previous[line]?.source;
    if (!source) throw new Error(`no source facts for containerd ${line}: run with --source <containerd git dir>`);
    const captured = (CAPTURED_LINES as readonly string[]).includes(line) ? (line as DebianContainerdLine) : undefined;
    if (!captured) {
      lines[line] = { additions: [], source };
      continue;
    }
    const capture = captureKeys(containerdBinDir(captured), line.startsWith("1.") ? 2 : 3);
    if (capture.emptyTables.length > 0) console.warn(`containerd ${capture.version}: tables left empty (no key under them is accepted): ${capture.emptyTables.join(", ")}`);
    lines[line] = {
      binary: { name: debianContainerdName(captured), version: capture.version },
      keys: capture.keys as Entry["keys"],
      additions: ADDITIONS[line] ?? [],
      source,
    };
  }
  writeFileSync(CATALOG_FILE, JSON.stringify({ lines }, null, 1) + "\n");
  console.log(`wrote ${CATALOG_FILE}`);
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
}
