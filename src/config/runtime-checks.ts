import { Arch, DownloadSettings, resolveArtifact } from "../catalog/artifacts";
import { containerdFeatures, ContainerdFeatures, SUPPORTED_CONTAINERD_LINES } from "../catalog/containerd-features";
import { EngineHandler, engineFacts, needsKvm } from "../catalog/engines";
import { versionAtLeast } from "../util/version";
import { checkContainerdOverrides, checkTypedOverrides } from "./containerd-overrides";
import { Locator } from "./findings";
import { ContainerdConfig, RuntimeHandler } from "./runtime";

export interface PoolContext {
  readonly cgroupDriver: "systemd" | "cgroupfs";
  /** Architectures of the pool's nodes: every release artifact needs a checksum for each. */
  readonly arches: readonly Arch[];
  readonly downloads: DownloadSettings;
  readonly cni: { readonly binDir: string; readonly confDir: string };
  /** The pool's `virtualization` setting; undefined means "checked on each node". */
  readonly virtualization?: boolean | undefined;
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
  if (config.imports && config.imports.length > 0 && !features.importsMergeDeep) {
    at.child("imports").warn(
      `containerd ${features.line} replaces a whole plugin table with an imported file's table: a drop-in that sets any CRI key drops every CRI setting kubeplug renders`,
    );
  }
  checkRegistries(config, at.child("registries"));
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

function checkRegistries(config: ContainerdConfig, at: Locator): void {
  checkDuplicateMirrors(config.registries.hosts, at);
  for (const [host, registry] of Object.entries(config.registries.hosts)) {
    registry.mirrors.forEach((mirror, i) => checkEndpoint(mirror, at.child("hosts", host, "mirrors", i)));
    if (registry.server) checkEndpoint(registry.server, at.child("hosts", host, "server"));
  }
}

/** The same mirror twice is a copy-paste slip: the second entry would never be tried. */
export function checkDuplicateMirrors(hosts: Readonly<Record<string, { readonly mirrors: readonly { readonly url: string }[] }>>, at: Locator): void {
  for (const [host, registry] of Object.entries(hosts)) {
    const seen = new Set<string>();
    registry.mirrors.forEach((mirror, i) => {
      if (seen.has(mirror.url)) at.child("hosts", host, "mirrors", i, "url").problem(`"${mirror.url}" is listed twice for ${host}`);
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
