import { Arch, DownloadSettings, resolveArtifact } from "../catalog/artifacts";
import { containerdFeatures, ContainerdFeatures, SUPPORTED_CONTAINERD_LINES } from "../catalog/containerd-features";
import { EngineHandler, engineFacts, needsKvm } from "../catalog/engines";
import { urlAuthority } from "../util/url";
import { versionAtLeast } from "../util/version";
import { checkContainerdOverrides, checkTypedOverrides } from "./containerd-overrides";
import { Locator } from "./findings";
import { ContainerdConfig, RegistryHostConfig, RuntimeHandler } from "./runtime";
import { AptRepositoryConfig, CdiSettings } from "./runtime-common";

export interface PoolContext {
  readonly cgroupDriver: "systemd" | "cgroupfs";
  /** Architectures of the pool's nodes: every release artifact needs a checksum for each. */
  readonly arches: readonly Arch[];
  readonly downloads: DownloadSettings;
  readonly cni: { readonly binDir: string; readonly confDir: string };
  /** The pool's `virtualization` setting; undefined means "checked on each node". */
  readonly virtualization?: boolean | undefined;
  /** The pool's name, for messages that must say which pool (the path has only its index). */
  readonly pool?: string | undefined;
}

/** Cross-field checks of a containerd runtime section, after its schema parsed. */
export function checkContainerd(config: ContainerdConfig, at: Locator, context: PoolContext): void {
  const features = containerdFeatures(config.version);
  if (!features) {
    at.child("version").problem(`"${config.version}" is not supported: kubeplug renders configs for containerd ${SUPPORTED_CONTAINERD_LINES}`);
    return;
  }
  if (features.endOfLife) {
    at.child("version").warn(`containerd ${features.line} is past its upstream end of life (1.6: 2025-08-23); plan a move to 1.7 or 2.x`);
  }
  if (config.crictl.from === "release") requireArtifact(at.child("crictl", "version"), "crictl", config.crictl.version, context);
  if (config.cgroupDriver && config.cgroupDriver !== context.cgroupDriver) {
    at.child("cgroupDriver").problem(
      `"${config.cgroupDriver}" conflicts with kubeplug:cluster.kubelet.cgroupDriver "${context.cgroupDriver}": the runtime and the kubelet must use the same cgroup driver`,
    );
  }
  if (!(config.defaultRuntime in config.runtimes)) {
    // No "did you mean": a name one edit from a defined handler (crun, runc) is usually a handler the user forgot to define.
    at.child("defaultRuntime").problem(
      `"${config.defaultRuntime}" is not a handler under runtimes (defined: ${Object.keys(config.runtimes).join(", ") || "none"}); define it there or name one of those`,
    );
  }
  checkInstall(config, at, context);
  for (const [name, handler] of Object.entries(config.runtimes)) {
    checkHandler(handler, at.child("runtimes", name), features, context, config.snapshotter);
  }
  checkCdi(config, at, context, !features.cdi ? `containerd ${config.version}, which has no CDI (enable_cdi came in containerd 1.7)` : undefined);
  if (config.imports && config.imports.length > 0 && !features.importsMergeDeep) {
    at.child("imports").warn(
      `containerd ${features.line} replaces a whole plugin table with an imported file's table: a drop-in that sets any CRI key drops every CRI setting kubeplug renders`,
    );
  }
  checkRegistryHosts(config.registries.hosts, at.child("registries"), [features]);
  checkRegistryHosts(config.registries.overrides, at.child("registries"), [features], "overrides");
  checkTypedOverrides(config.overrides, at.child("overrides"), features);
  checkContainerdOverrides(config.overrides, at.child("overrides"), features, config.version);
}

function checkInstall(config: ContainerdConfig, runtime: Locator, context: PoolContext): void {
  const install = config.install;
  if (install.from === "package" && install.version) {
    const upstream = install.version.replace(/^\d+:/, "");
    if (!upstream.startsWith(config.version) || /^\d/.test(upstream.slice(config.version.length))) {
      runtime.child("install", "version").problem(`"${install.version}" is not a package of containerd ${config.version}`);
    }
  }
  if (install.from === "release") {
    requireArtifact(runtime.child("version"), "containerd", config.version, context);
  }
}

/** Snapshotters gVisor's gofer can serve a rootfs from (gVisor docs @ release-20260817.0; EROFS: gvisor#8956). */
const GVISOR_SNAPSHOTTERS = ["overlayfs", "native"];

function checkHandler(handler: RuntimeHandler, at: Locator, features: ContainerdFeatures, context: PoolContext, poolSnapshotter: string): void {
  if (handler.snapshotter && !features.perHandlerSnapshotter) {
    at.child("snapshotter").problem(`a per-handler snapshotter needs containerd 1.7 or later; this pool runs ${features.line}`);
  }
  if (handler.engine === "custom") return;
  checkEngineHandler(handler, at, context);
  if (handler.engine === "gvisor") {
    const snapshotter = handler.snapshotter ?? poolSnapshotter;
    if (!GVISOR_SNAPSHOTTERS.includes(snapshotter)) {
      at.child(handler.snapshotter ? "snapshotter" : "engine").problem(
        `gVisor runs on the ${GVISOR_SNAPSHOTTERS.join(" and ")} snapshotters; "${snapshotter}"${handler.snapshotter ? "" : " (the pool's snapshotter)"} gives it block devices or layers it cannot mount. Set snapshotter: overlayfs on this handler`,
      );
    }
  }
  const min = features.minEngineVersions[handler.engine as "crun"];
  if (min && handler.install.from !== "preinstalled" && handler.install.version && !versionAtLeast(handler.install.version.replace(/^\d+:/, ""), min)) {
    at.child("install", "version").problem(
      `${handler.engine} ${handler.install.version} refuses the runtime spec containerd ${features.line} writes ("unknown version specified"); it needs ${min} or later`,
    );
  }
  if (handler.engine === "gvisor" && handler.install.from === "package") {
    at.child("install").warn(
      "Debian's runsc has no containerd-shim-runsc-v1, so runsc runs under the runc shim; on the test machine runsc 20240729 could not set up pod networking there (kernel 6.x); prefer install.from: release",
    );
  }
  if (handler.engine === "gvisor" && handler.install.from === "package" && handler.platform !== "systrap") {
    at.child("platform").problem(
      `"${handler.platform}" needs containerd-shim-runsc-v1, which Debian's runsc package lacks; install gVisor from its release (install.from: release) or use platform systrap`,
    );
  }
}

/** What every runtime kind checks for a handler kubeplug installs: release checksums and virtualization. */
export function checkEngineHandler(handler: EngineHandler, at: Locator, context: PoolContext): void {
  if (handler.install.from === "release") {
    for (const artifact of engineFacts(handler.engine).release!.artifacts) {
      requireArtifact(at.child("install", "version"), artifact, handler.install.version, context);
    }
  }
  if (context.virtualization === false && needsKvm(handler)) {
    const what = handler.engine === "kata" ? "Kata Containers (each pod is a VM)" : "gVisor's kvm platform";
    at.child("engine").problem(`${what} needs /dev/kvm, but this pool says virtualization: false; use a pool with virtualization or another runtime`);
  }
}

export function requireArtifact(at: Locator, artifact: Parameters<typeof resolveArtifact>[0], version: string, context: Pick<PoolContext, "arches" | "downloads">): void {
  for (const arch of context.arches) {
    const lookup = resolveArtifact(artifact, version, arch, context.downloads);
    if (!lookup.ok) at.problem(lookup.reason);
  }
}

/**
 * Checks containerd host entries under `at.<key>`: a pool's hosts or overrides, or the cluster's hosts with
 * the containerd lines of every pool that inherits them (so a warning prints once, for all of them).
 */
export function checkRegistryHosts(hosts: Readonly<Record<string, RegistryHostConfig>>, at: Locator, lines: readonly ContainerdFeatures[], key = "hosts"): void {
  checkDuplicateMirrors(hosts, at, key);
  for (const [host, registry] of Object.entries(hosts)) {
    const endpoints = [...registry.mirrors.map((m, i) => [m, at.child(key, host, "mirrors", i)] as const), ...(registry.server ? [[registry.server, at.child(key, host, "server")] as const] : [])];
    for (const [endpoint, here] of endpoints) {
      checkEndpoint(endpoint, here);
      const warning = endpoint.auth ? credentialTableWarning(endpoint.url, lines) : undefined;
      if (warning) here.child("auth").warn(warning);
    }
  }
}

/**
 * hosts.toml has no credential field, so kubeplug writes credentials to config.toml, where 1.7 and 2.x log them as
 * deprecated. containerd's docs/cri/registry.md (v2.1.4): the table "will NOT have an equivalent way to store
 * unencrypted secrets in the host configuration files" and stays "until a suitable secret management alternative is
 * available as a plugin"; for pulls kubelet makes, image pull secrets or a kubelet credential provider replace it.
 */
export function credentialTableWarning(url: string, lines: readonly ContainerdFeatures[]): string | undefined {
  const names = (list: readonly ContainerdFeatures[]) => [...new Set(list.map((f) => f.line))].sort().join(", ");
  const deprecated = lines.filter((f) => f.registryConfigsDeprecated);
  if (deprecated.length === 0) return undefined;
  const host = urlAuthority(url);
  const logs = names(deprecated).includes(",") ? "log" : "logs";
  const local = deprecated.filter((f) => f.registryConfigsDisableTransferService);
  const transfer = local.length > 0
    ? `; while the table is there, containerd ${names(local)} also pulls every image of the node without its transfer service ("Falling back to local image pull mode")`
    : "";
  return `containerd ${names(deprecated)} ${logs} the credential table kubeplug writes for ${host} (registry.configs."${host}".auth in config.toml) as deprecated: "\`configs\` is deprecated, please use \`config_path\` instead"; hosts.toml has no credential field, and containerd keeps the table until a secret plugin replaces it (removal announced for 2.4). For pods, Kubernetes image pull secrets or a kubelet credential provider replace it${transfer}`;
}

/** The same mirror twice is a copy-paste slip: the second entry would never be tried. */
export function checkDuplicateMirrors(hosts: Readonly<Record<string, { readonly mirrors: readonly { readonly url: string }[] }>>, at: Locator, key = "hosts"): void {
  for (const [host, registry] of Object.entries(hosts)) {
    const seen = new Set<string>();
    registry.mirrors.forEach((mirror, i) => {
      if (seen.has(mirror.url)) at.child(key, host, "mirrors", i, "url").problem(`"${mirror.url}" is listed twice for ${host}`);
      seen.add(mirror.url);
    });
  }
}

function checkEndpoint(endpoint: { url: string; skipVerify?: boolean | undefined; auth?: unknown }, at: Locator): void {
  if (endpoint.auth && endpoint.url.startsWith("http://")) {
    at.child("auth").warn(`credentials for ${endpoint.url} would travel unencrypted over plain http`);
  }
  if (endpoint.skipVerify) at.child("skipVerify").warn(`TLS verification is off for ${endpoint.url}`);
}

// CDI and the NVIDIA engine -------------------------------------------------------------------------

interface CdiPool {
  readonly cdi?: CdiSettings | undefined;
  readonly runtimes: Readonly<Record<string, { readonly engine: string; readonly install?: unknown }>>;
}

/**
 * CDI settings and the nvidia handlers of a pool, for either runtime kind. `noCdi` says why the pool's runtime
 * cannot inject CDI devices (containerd 1.6), or is undefined when it can.
 */
export function checkCdi(config: CdiPool, at: Locator, context: Pick<PoolContext, "pool">, noCdi: string | undefined): void {
  const pool = context.pool ? `pool "${context.pool}"` : "this pool";
  const nvidia = Object.entries(config.runtimes).filter(([, h]) => h.engine === "nvidia");
  if (noCdi) {
    for (const [name] of nvidia) {
      at.child("runtimes", name, "engine").problem(`the nvidia engine hands GPUs to pods through CDI, but ${pool} runs ${noCdi}; use containerd 1.7 or later for this pool`);
    }
    if (config.cdi) at.child("cdi").problem(`${pool} runs ${noCdi}; use containerd 1.7 or later, or remove cdi`);
  }
  const seen = new Map<string, number>();
  config.cdi?.specDirs.forEach((dir, i) => {
    const key = dir.replace(/(.)\/+$/, "$1");
    const first = seen.get(key);
    if (first !== undefined) at.child("cdi", "specDirs", i).problem(`"${dir}" is the directory of specDirs[${first}] again; list each once`);
    else seen.set(key, i);
  });
  let first: { name: string; repository: AptRepositoryConfig } | undefined;
  for (const [name, handler] of nvidia) {
    const install = handler.install as { from: string; repository?: AptRepositoryConfig };
    if (install.from !== "package" || !install.repository) continue;
    checkAptRepository(install.repository, at.child("runtimes", name, "install", "repository"));
    if (!first) first = { name, repository: install.repository };
    else if (JSON.stringify(first.repository) !== JSON.stringify(install.repository)) {
      at.child("runtimes", name, "install", "repository").problem(
        `differs from handler ${first.name}'s: both install the same toolkit package on every node of ${pool}, so they must name the same repository`,
      );
    }
  }
}

/** What apt would refuse or misread in a deb822 source: a flat repository has no components, any other needs one. */
function checkAptRepository(repository: AptRepositoryConfig, at: Locator): void {
  const flat = repository.suite.endsWith("/");
  if (flat && repository.components.length > 0) {
    at.child("components").problem(`suite "${repository.suite}" ends in "/", so the repository is flat and apt refuses components for it; remove components, or name a suite such as "stable"`);
  }
  if (!flat && repository.components.length === 0) {
    at.child("components").problem(`suite "${repository.suite}" needs at least one component (e.g. "main"); a flat repository such as NVIDIA's has suite "/" instead`);
  }
}
