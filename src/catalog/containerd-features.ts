/**
 * What each containerd release line supports, by name, so the renderer and the checks never compare
 * versions themselves. Facts from containerd's config code at v1.6.39, v1.7.34, v2.0.11–v2.3.4
 * (see ../shared/research/runtimes.md §3); config dumps of 1.6.20, 1.7.24 and 2.1.9 are in test/real.
 */
export interface ContainerdFeatures {
  readonly line: string;
  /**
   * 2 for 1.x, 3 for 2.0–2.2, 4 from 2.3. Version 4 moves the server listeners (`[grpc]`, `[ttrpc]`,
   * `[debug]` address, `[metrics]`) into `io.containerd.server.v1.*` plugin tables; containerd 2.3
   * still reads version 3, but migrates it on load and `config dump` then reports version 4, so a
   * version 3 file cannot pass kubeplug's check that the node reads the version it was rendered for.
   * Source: `cmd/containerd/server/config/config.go` (migrations, serviceMigrate) and
   * `version/version.go` (ConfigVersion = 4) at v2.3.4, commit db8809540e1a7a9da5d518876894933ff55692ab;
   * identical at v2.3.0 (2976f38ccbfcda5ef1364d63d60b0a304e4bf94a).
   */
  readonly configVersion: 2 | 3 | 4;
  /** Plugin that holds runtimes and CNI settings. */
  readonly criRuntimePlugin: string;
  /** Plugin that holds the sandbox image, snapshotter and registry settings. */
  readonly criImagesPlugin: string;
  /** 2.x merges imported files into plugin tables; 1.x replaces the whole plugin table. */
  readonly importsMergeDeep: boolean;
  /** A runtime handler may pick its own snapshotter (Runtime.Snapshotter, 1.7+). */
  readonly perHandlerSnapshotter: boolean;
  /**
   * CDI device injection (`enable_cdi`, `cdi_spec_dirs` on the CRI runtime plugin's table): from 1.7.0
   * (pkg/cri/config/config.go @ v1.7.0, v1.7.24; absent @ v1.6.39). Off by default in 1.7, on in 2.x
   * (config_unix.go @ v2.0.0 and v2.1.4: `EnableCDI: true`).
   */
  readonly cdi: boolean;
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
  /**
   * The credential table kubeplug writes (`registry.configs."<host>".auth` in config.toml) is logged as deprecated
   * at start-up ("`configs` is deprecated, please use `config_path` instead") and listed by `ctr deprecations list`
   * (io.containerd.deprecation/cri-registry-configs): from 1.7, not in 1.6. Still read by every supported line;
   * removal is announced for 2.4 (RELEASES.md and pkg/deprecation/deprecation.go at v2.3.4). ValidatePluginConfig in
   * pkg/cri/config/config.go at v1.7.24, ValidateImageConfig in internal/cri/config/config.go at v2.1.4; seen in the
   * logs of 1.7.24 and 2.1.9 in test/real/registry.real.test.ts.
   */
  readonly registryConfigsDeprecated: boolean;
  /**
   * The CRI pulls through the transfer service by default (2.1+), and any `registry.configs` entry turns that off
   * for every pull of the node ("Falling back to local image pull mode"): CheckLocalImagePullConfigs in
   * internal/cri/config/config.go at v2.1.4 (absent in 2.0, which always pulls locally).
   */
  readonly registryConfigsDisableTransferService: boolean;
}

const V2_CRI = "io.containerd.grpc.v1.cri";

/**
 * Server listener plugins of config version 4 (containerd 2.3): `plugins/server/{grpc,ttrpc,debug,metrics}/plugin.go`
 * at v2.3.4 (db880954). Each takes `address` (grpc, ttrpc, debug also `uid`/`gid`; grpc the message size limits).
 */
export const SERVER_PLUGINS = {
  grpc: "io.containerd.server.v1.grpc",
  grpcTcp: "io.containerd.server.v1.grpc-tcp",
  ttrpc: "io.containerd.server.v1.ttrpc",
  debug: "io.containerd.server.v1.debug",
  metrics: "io.containerd.server.v1.metrics",
  grpcPrometheus: "io.containerd.metrics.v1.grpc-prometheus",
} as const;

/**
 * Where config version 4 reads each server key that versions 2 and 3 read at the top level: section →
 * key → [plugin, key]. containerd 2.3 moves them only when migrating an older file (serviceMigrate at
 * v2.3.4, db880954); in a `version = 4` file the old keys still parse (the struct keeps them as
 * deprecated fields, so nothing is logged) and nothing reads them. `[debug] level`, `format` and
 * `log_trace_id` stay top-level.
 */
export const MOVED_IN_V4: Readonly<Record<string, Readonly<Record<string, readonly [string, string]>>>> = {
  grpc: {
    address: [SERVER_PLUGINS.grpc, "address"],
    uid: [SERVER_PLUGINS.grpc, "uid"],
    gid: [SERVER_PLUGINS.grpc, "gid"],
    max_recv_message_size: [SERVER_PLUGINS.grpc, "max_recv_message_size"],
    max_send_message_size: [SERVER_PLUGINS.grpc, "max_send_message_size"],
    tcp_address: [SERVER_PLUGINS.grpcTcp, "address"],
    tcp_tls_ca: [SERVER_PLUGINS.grpcTcp, "tls_ca"],
    tcp_tls_cert: [SERVER_PLUGINS.grpcTcp, "tls_cert"],
    tcp_tls_key: [SERVER_PLUGINS.grpcTcp, "tls_key"],
    tcp_tls_common_name: [SERVER_PLUGINS.grpcTcp, "tls_common_name"],
  },
  ttrpc: {
    address: [SERVER_PLUGINS.ttrpc, "address"],
    uid: [SERVER_PLUGINS.ttrpc, "uid"],
    gid: [SERVER_PLUGINS.ttrpc, "gid"],
  },
  debug: {
    address: [SERVER_PLUGINS.debug, "address"],
    uid: [SERVER_PLUGINS.debug, "uid"],
    gid: [SERVER_PLUGINS.debug, "gid"],
  },
  metrics: {
    address: [SERVER_PLUGINS.metrics, "address"],
    grpc_histogram: [SERVER_PLUGINS.grpcPrometheus, "grpc_histogram"],
  },
};

/** `[debug]` keys that stay top-level in version 4 (Debug struct at v2.3.4). */
export const V4_DEBUG_KEYS: readonly string[] = ["level", "format", "log_trace_id"];

function line(major: number, minor: number): ContainerdFeatures | undefined {
  if (major === 1 && (minor === 6 || minor === 7)) {
    return {
      line: `1.${minor}`,
      configVersion: 2,
      criRuntimePlugin: V2_CRI,
      criImagesPlugin: V2_CRI,
      importsMergeDeep: false,
      perHandlerSnapshotter: minor === 7,
      cdi: minor === 7,
      handlerSnapshotterNeedsImagePlatform: false,
      cniBinDirs: false,
      defaultImports: [],
      endOfLife: minor === 6,
      minEngineVersions: {},
      registryConfigsDeprecated: minor === 7,
      registryConfigsDisableTransferService: false,
    };
  }
  if (major === 2) {
    return {
      line: `2.${minor}`,
      configVersion: minor >= 3 ? 4 : 3,
      criRuntimePlugin: "io.containerd.cri.v1.runtime",
      criImagesPlugin: "io.containerd.cri.v1.images",
      importsMergeDeep: true,
      perHandlerSnapshotter: true,
      cdi: true,
      handlerSnapshotterNeedsImagePlatform: minor <= 2,
      cniBinDirs: minor >= 1,
      defaultImports: ["/etc/containerd/conf.d/*.toml"],
      endOfLife: false,
      minEngineVersions: { crun: "1.14.3" },
      registryConfigsDeprecated: true,
      registryConfigsDisableTransferService: minor >= 1,
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
