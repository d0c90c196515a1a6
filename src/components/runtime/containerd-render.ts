import { stringify } from "smol-toml";
import { ContainerdConfig, RegistryHostConfig } from "../../config/runtime";
import { SecretRef } from "../../config/secrets";
import { hashParts } from "../../util/hash";
import { RenderedFile } from "../node/files";
import { ContainerdFeatures, containerdFeatures, SERVER_PLUGINS } from "../../catalog/containerd-features";
import { hostsTomlFiles } from "./hosts-toml";
import { containerdHandlerTable, containerdRuntimeFiles } from "./oci-runtimes";
import { TomlTable, TomlValue } from "../../util/toml";
import { unitLimitsDropIn } from "./unit-limits";
import { urlAuthority } from "../../util/url";
import { poolCdi } from "../../config/runtime-common";

/** Settings the runtime takes from other domains of the stack. */
export interface ContainerdContext {
  readonly pool: string;
  readonly cgroupDriver: "systemd" | "cgroupfs";
  readonly cni: { readonly binDir: string; readonly confDir: string };
}

/** A credential that reaches the node on stdin, keyed by the endpoint host containerd contacts. */
export interface RegistryCredential {
  readonly host: string;
  readonly username: string;
  readonly password: SecretRef;
}

export interface RenderedContainerd {
  readonly features: ContainerdFeatures;
  /** config.toml without credentials; those are appended on the node from stdin. */
  readonly configToml: string;
  /** hosts.toml per registry and CA files written next to them. */
  readonly registryFiles: readonly RenderedFile[];
  /** Runtime-specific files the shims read at container start (gVisor shim configs). */
  readonly runtimeFiles: readonly RenderedFile[];
  /** The unit drop-in with the stack's serviceLimits, when it sets any. */
  readonly unitLimits?: RenderedFile;
  readonly credentials: readonly RegistryCredential[];
  readonly runtimeEndpoint: string;
  /** Hash of every non-secret file the configure step writes: changes exactly when a node must change. */
  readonly configHash: string;
}

export const CONTAINERD_CONFIG_PATH = "/etc/containerd/config.toml";

export function renderContainerd(config: ContainerdConfig, context: ContainerdContext): RenderedContainerd {
  const features = requireFeatures(config.version);
  const tree = configTree(config, context, features);
  const merged = mergeOverrides(tree, config.overrides);
  if (merged.conflicts.length > 0) {
    throw new Error(`overrides conflict with managed keys: ${merged.conflicts.join(", ")}; plan the pool first (planPoolRuntime)`);
  }
  const configToml = header(config, context, features) + stringify(merged.tree);
  const registryFiles = hostsTomlFiles(config.registries);
  const shimFiles = [...containerdRuntimeFiles(config.runtimes, context.cgroupDriver === "systemd"), ...baseRuntimeSpecFiles(config.runtimes)];
  const limits = unitLimitsDropIn("containerd", config.serviceLimits);
  const credentials = registryCredentials(config.registries.hosts);
  const configHash = hashParts([
    [CONTAINERD_CONFIG_PATH, configToml],
    ...[...registryFiles, ...shimFiles, ...(limits ? [limits] : [])].map((f) => [f.path, `${f.mode}:${f.content}`] as const),
    ...credentials.map((c) => [`auth:${c.host}`, `${c.username}:${JSON.stringify(c.password)}`] as const),
  ]);
  return {
    features,
    configToml,
    registryFiles,
    runtimeFiles: shimFiles,
    ...(limits ? { unitLimits: limits } : {}),
    credentials,
    runtimeEndpoint: `unix://${config.address}`,
    configHash,
  };
}

/** Keys the overrides would change although kubeplug manages them; the plan refuses a pool that has any. */
export function overrideConflicts(config: ContainerdConfig, context: ContainerdContext): string[] {
  return [...mergeOverrides(configTree(config, context, requireFeatures(config.version)), config.overrides).conflicts];
}

function requireFeatures(version: string): ContainerdFeatures {
  const features = containerdFeatures(version);
  if (!features) throw new Error(`containerd ${version} is not supported; run the config checks first`);
  return features;
}

function header(config: ContainerdConfig, context: ContainerdContext, features: ContainerdFeatures): string {
  const dropIns = features.importsMergeDeep
    ? "Put local additions in a file listed under `imports` instead."
    : "containerd 1.x replaces whole plugin tables from imported files, so keep CRI settings in this file.";
  return [
    `# Managed by kubeplug: pool ${context.pool}, containerd ${config.version}, config version ${features.configVersion}.`,
    `# Rewritten on every apply; the previous file is kept as config.toml.kubeplug.bak. ${dropIns}`,
    "",
  ].join("\n");
}

/** The config tree kubeplug owns, before user overrides. Every key here is "managed". */
export function configTree(config: ContainerdConfig, context: ContainerdContext, features: ContainerdFeatures): TomlTable {
  const systemdCgroup = context.cgroupDriver === "systemd";
  const handlers = Object.keys(config.runtimes).sort();
  const runtimes: TomlTable = {};
  for (const name of handlers) {
    const handler = config.runtimes[name]!;
    runtimes[name] = containerdHandlerTable(name, handler, systemdCgroup, features);
    if (handler.baseRuntimeSpec) runtimes[name].base_runtime_spec = baseRuntimeSpecFile(name, handler.baseRuntimeSpec).path;
  }

  const imports = config.imports ?? [...features.defaultImports];
  const root: TomlTable = { version: features.configVersion, root: config.root, state: config.state };
  if (imports.length > 0) root.imports = imports;
  // Version 4 (containerd 2.3) ignores a top-level [grpc]: the listeners are server plugins there.
  const servers = features.configVersion === 4 ? serverPluginTables(config.address) : undefined;
  if (!servers) root.grpc = { address: config.address };
  if (config.logLevel) root.debug = { level: config.logLevel };
  // Version 4 serves metrics from a server plugin; a top-level [metrics] there is parsed and ignored.
  const metrics = config.metricsAddress ? { address: config.metricsAddress } : undefined;
  if (metrics && !servers) root.metrics = metrics;

  const registry: TomlTable = { config_path: config.registries.configPath };
  const cni: TomlTable = features.cniBinDirs
    ? { bin_dirs: [context.cni.binDir], conf_dir: context.cni.confDir }
    : { bin_dir: context.cni.binDir, conf_dir: context.cni.confDir };

  if (features.configVersion === 2) {
    root.plugins = {
      [features.criRuntimePlugin]: {
        sandbox_image: config.sandboxImage,
        ...criRuntimeSettings(config),
        containerd: { snapshotter: config.snapshotter, default_runtime_name: config.defaultRuntime, runtimes },
        cni,
        registry,
      },
    };
    return root;
  }
  const images: TomlTable = { snapshotter: config.snapshotter, pinned_images: { sandbox: config.sandboxImage }, registry };
  const platforms = handlerImagePlatforms(config, features);
  if (platforms) images.runtime_platforms = platforms;
  root.plugins = {
    [features.criImagesPlugin]: images,
    [features.criRuntimePlugin]: { ...criRuntimeSettings(config), containerd: { default_runtime_name: config.defaultRuntime, runtimes }, cni },
    ...servers,
    ...(servers && metrics ? { [SERVER_PLUGINS.metrics]: metrics } : {}),
  };
  return root;
}

/** Typed CRI settings that sit on the CRI runtime plugin's own table on every config version. */
function criRuntimeSettings(config: ContainerdConfig): TomlTable {
  const settings: TomlTable = {};
  // enable_cdi and cdi_spec_dirs sit on the CRI plugin's own table (1.7: PluginConfig of io.containerd.grpc.v1.cri;
  // 2.x: RuntimeConfig of io.containerd.cri.v1.runtime), as containerd-keys.json lists them. 2.x turns CDI on by
  // default (config_unix.go @ v2.0.0, v2.1.4) and 1.7 does not (@ v1.7.24); kubeplug writes it either way, so the
  // file says what the pool relies on. The checks refuse CDI on 1.6, which has neither key.
  const cdi = poolCdi(config);
  if (cdi) {
    settings.enable_cdi = true;
    settings.cdi_spec_dirs = [...cdi.specDirs];
  }
  if (config.maxContainerLogLineSize !== undefined) settings.max_container_log_line_size = config.maxContainerLogLineSize;
  if (config.unprivilegedPorts !== undefined) settings.enable_unprivileged_ports = config.unprivilegedPorts;
  if (config.unprivilegedIcmp !== undefined) settings.enable_unprivileged_icmp = config.unprivilegedIcmp;
  if (config.deviceOwnershipFromSecurityContext !== undefined) settings.device_ownership_from_security_context = config.deviceOwnershipFromSecurityContext;
  return settings;
}

export const BASE_RUNTIME_SPEC_DIR = "/etc/containerd/base-runtime-spec";

/**
 * containerd reads a base spec once, when the CRI plugin starts. The file name carries the content's
 * hash, so a changed spec changes config.toml and the configure step restarts containerd for it.
 */
function baseRuntimeSpecFile(handler: string, spec: Record<string, unknown>): RenderedFile {
  const content = `${JSON.stringify(spec, null, 2)}\n`;
  return { path: `${BASE_RUNTIME_SPEC_DIR}/${handler}-${hashParts([["spec", content]]).slice(0, 12)}.json`, content, mode: 0o644 };
}

function baseRuntimeSpecFiles(runtimes: ContainerdConfig["runtimes"]): RenderedFile[] {
  return Object.keys(runtimes)
    .sort()
    .flatMap((name) => {
      const spec = runtimes[name]!.baseRuntimeSpec;
      return spec ? [baseRuntimeSpecFile(name, spec)] : [];
    });
}

/**
 * The listeners of a version 4 file. containerd 2.3 migrates a version 3 `[grpc] address` to the grpc
 * server plugin and derives the ttrpc socket from it (`<address>.ttrpc`); in a version 4 file the ttrpc
 * plugin keeps its own default (/run/containerd/containerd.sock.ttrpc) whatever the grpc address is, so
 * kubeplug writes both, as the version 3 file meant. serviceMigrate and TestV3MigrateTTRPCDerivedFromGRPC in
 * cmd/containerd/server/config/config{,_test}.go, plugins/server/ttrpc/plugin.go at v2.3.4 (db880954).
 */
function serverPluginTables(address: string): TomlTable {
  return { [SERVER_PLUGINS.grpc]: { address }, [SERVER_PLUGINS.ttrpc]: { address: `${address}.ttrpc` } };
}

/** containerd 2.0–2.2 pull a handler's images with its snapshotter only when told so here too. */
function handlerImagePlatforms(config: ContainerdConfig, features: ContainerdFeatures): TomlTable | undefined {
  if (!features.handlerSnapshotterNeedsImagePlatform) return undefined;
  const entries = Object.entries(config.runtimes)
    .filter(([, handler]) => handler.snapshotter !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([name, handler]) => [name, { snapshotter: handler.snapshotter! }]));
}

function registryCredentials(hosts: Record<string, RegistryHostConfig>): RegistryCredential[] {
  const credentials: RegistryCredential[] = [];
  for (const name of Object.keys(hosts).sort()) {
    const host = hosts[name]!;
    for (const endpoint of [...host.mirrors, ...(host.server ? [host.server] : [])]) {
      if (endpoint.auth) credentials.push({ host: urlAuthority(endpoint.url), ...endpoint.auth });
    }
  }
  return credentials;
}

/**
 * The credential table appended to config.toml on the node. It lives in config.toml, not in a drop-in,
 * because containerd 1.x would let a drop-in's CRI table replace kubeplug's whole CRI table.
 */
export function renderCredentialFragment(version: string, credentials: readonly { host: string; username: string; password: string }[]): string {
  if (credentials.length === 0) return "";
  const features = requireFeatures(version);
  const lines = ["", "# Registry credentials, appended by kubeplug from stdin."];
  for (const c of credentials) {
    const table = { plugins: { [features.criImagesPlugin]: { registry: { configs: { [c.host]: { auth: { username: c.username, password: c.password } } } } } } };
    lines.push(stringify(table));
  }
  return lines.join("\n") + "\n";
}

export interface OverrideMerge {
  readonly tree: TomlTable;
  /** Dotted paths of override keys that would change a managed key. */
  readonly conflicts: readonly string[];
}

/** Deep-merges user overrides into the managed tree; a managed leaf may not be replaced. */
export function mergeOverrides(managed: TomlTable, overrides: Record<string, unknown>): OverrideMerge {
  const conflicts: string[] = [];
  const merge = (base: TomlTable, extra: Record<string, unknown>, path: string[]): TomlTable => {
    const out: TomlTable = { ...base };
    for (const [key, value] of Object.entries(extra)) {
      const here = [...path, key];
      const existing = out[key];
      if (existing === undefined) {
        out[key] = value as TomlValue;
      } else if (isTable(existing) && isPlainObject(value)) {
        out[key] = merge(existing, value, here);
      } else {
        conflicts.push(here.map(tomlKey).join("."));
      }
    }
    return out;
  };
  const tree = merge(managed, overrides, []);
  return { tree, conflicts };
}

export function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

function isTable(value: TomlValue): value is TomlTable {
  return typeof value === "object" && !Array.isArray(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export { containerdFeatures };
