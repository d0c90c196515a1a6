/**
 * What each containerd release line supports, by name, so the renderer and the checks never compare
 * versions themselves. Facts from containerd's config code at v1.6.39, v1.7.34, v2.0.11–v2.3.4
 * (see ../shared/research/runtimes.md §3); config dumps of 1.6.20 and 2.1.9 are in test/real.
 */
export interface ContainerdFeatures {
  readonly line: string;
  /**
   * 2 for 1.x, 3 for 2.x. containerd 2.3 introduced version 4, which only moves the server listeners;
   * it still reads version 3 (migrating it on load), so kubeplug renders 3 for every 2.x release.
   */
  readonly configVersion: 2 | 3;
  /** Plugin that holds runtimes and CNI settings. */
  readonly criRuntimePlugin: string;
  /** Plugin that holds the sandbox image, snapshotter and registry settings. */
  readonly criImagesPlugin: string;
  /** 2.x merges imported files into plugin tables; 1.x replaces the whole plugin table. */
  readonly importsMergeDeep: boolean;
  /** A runtime handler may pick its own snapshotter (Runtime.Snapshotter, 1.7+). */
  readonly perHandlerSnapshotter: boolean;
  /** 2.0–2.2 also need images.runtime_platforms.<handler>.snapshotter for pulls to use it. */
  readonly handlerSnapshotterNeedsImagePlatform: boolean;
  /** `cni.bin_dirs` (a list) replaced `cni.bin_dir` in 2.1. */
  readonly cniBinDirs: boolean;
  /** Upstream's default drop-in directory import (written by `containerd config default` from 2.2). */
  readonly defaultImports: readonly string[];
  /** Release line past upstream end of life: rendering still works, the plan warns. */
  readonly endOfLife: boolean;
  /**
   * Oldest version of each OCI runtime that accepts the runtime spec this containerd writes: 2.x writes
   * spec 1.2.x, which crun before 1.14.3 refuses ("unknown version specified", crun 0860c0ff; seen
   * with Debian bookworm's crun 1.8.1 under containerd 2.1.9 in test/real/runtime-handlers).
   */
  readonly minEngineVersions: Readonly<Partial<Record<"crun", string>>>;
}

const V2_CRI = "io.containerd.grpc.v1.cri";

function line(major: number, minor: number): ContainerdFeatures | undefined {
  if (major === 1 && (minor === 6 || minor === 7)) {
    return {
      line: `1.${minor}`,
      configVersion: 2,
      criRuntimePlugin: V2_CRI,
      criImagesPlugin: V2_CRI,
      importsMergeDeep: false,
      perHandlerSnapshotter: minor === 7,
      handlerSnapshotterNeedsImagePlatform: false,
      cniBinDirs: false,
      defaultImports: [],
      endOfLife: minor === 6,
      minEngineVersions: {},
    };
  }
  if (major === 2) {
    return {
      line: `2.${minor}`,
      configVersion: 3,
      criRuntimePlugin: "io.containerd.cri.v1.runtime",
      criImagesPlugin: "io.containerd.cri.v1.images",
      importsMergeDeep: true,
      perHandlerSnapshotter: true,
      handlerSnapshotterNeedsImagePlatform: minor <= 2,
      cniBinDirs: minor >= 1,
      defaultImports: ["/etc/containerd/conf.d/*.toml"],
      endOfLife: false,
      minEngineVersions: { crun: "1.14.3" },
    };
  }
  return undefined;
}

/** Features of a containerd version such as "2.1.9", or undefined when kubeplug does not support its line. */
export function containerdFeatures(version: string): ContainerdFeatures | undefined {
  const match = /^(\d+)\.(\d+)\./.exec(version);
  return match ? line(Number(match[1]), Number(match[2])) : undefined;
}

export const SUPPORTED_CONTAINERD_LINES = "1.6, 1.7 and 2.x";
