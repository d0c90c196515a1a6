import { z } from "zod";
import { basicAuth } from "./secrets";
import { absolutePath, httpUrl, packageName, packageVersion, semver } from "./primitives";
import { annotations, cdiSettings, INSTALL_FROM, nvidiaInstall, fromPackage, fromPreinstalled, fromRelease, gvisorPlatform, handlerName, kataHypervisor, registryHostName, releasePrefix, sandboxImage } from "./runtime-common";
import { ForeignKeys, strictObject, tagged } from "./zod";
import { daemonSettings } from "./daemon-settings";

const containerdOnly = (key: string, hint?: string): string => `"${key}" is a containerd setting; this runtime is kind: crio${hint ? `. ${hint}` : ""}`;

/** containerd handler keys that mean nothing to CRI-O: named, not just "unknown". */
const CONTAINERD_HANDLER_KEYS: ForeignKeys = {
  snapshotter: containerdOnly("snapshotter", "CRI-O has one storage driver per node (storageDriver)"),
  options: containerdOnly("options", "runc shim options do not exist in CRI-O"),
  podAnnotations: containerdOnly("podAnnotations", "CRI-O calls it allowedAnnotations"),
  containerAnnotations: containerdOnly("containerAnnotations", "CRI-O calls it allowedAnnotations"),
  runtimeType: "set runtimeType on engine: custom only",
  baseRuntimeSpec: containerdOnly("baseRuntimeSpec", "CRI-O builds each container's spec itself; it has no per-handler base spec"),
};

/** runc and crun ship inside the CRI-O bundle (/usr/libexec/crio); a pool may use those builds. */
const fromBundle = strictObject({ from: z.literal("bundle").describe(INSTALL_FROM) });

const crioHandlerCommon = {
  allowedAnnotations: annotations.describe("Annotations the handler may act on (CRI-O allowed_annotations)."),
  privilegedWithoutHostDevices: z.boolean().optional().describe("Privileged pods of this handler do not get the host's devices (set for VM runtimes such as Kata)."),
};

const engineInstall = <const Sources extends readonly [z.ZodObject, ...z.ZodObject[]]>(sources: Sources) =>
  tagged("from", sources).describe("How the engine reaches the node: the CRI-O bundle's own build, a Debian package, the upstream release (checksum-verified), or already there.");
const runcLikeInstall = engineInstall([fromBundle, fromPackage, fromRelease, fromPreinstalled]).prefault({ from: "bundle" });
const ENGINE = "The OCI runtime the handler runs: runc, crun, youki, gvisor (refused before CRI-O 1.37), kata, nvidia (nvidia-container-runtime, for GPU pools), or custom.";

export const crioHandler = tagged("engine", [
  strictObject({ engine: z.literal("runc").describe(ENGINE), install: runcLikeInstall, ...crioHandlerCommon }, CONTAINERD_HANDLER_KEYS),
  strictObject({ engine: z.literal("crun").describe(ENGINE), install: runcLikeInstall, ...crioHandlerCommon }, CONTAINERD_HANDLER_KEYS),
  strictObject({ engine: z.literal("youki").describe(ENGINE), install: engineInstall([fromRelease, fromPreinstalled]), ...crioHandlerCommon }, CONTAINERD_HANDLER_KEYS),
  strictObject(
    {
      engine: z.literal("gvisor").describe(ENGINE),
      install: engineInstall([fromPackage, fromRelease, fromPreinstalled]).prefault({ from: "package" }),
      platform: gvisorPlatform,
      ...crioHandlerCommon,
    },
    CONTAINERD_HANDLER_KEYS,
  ),
  strictObject(
    {
      engine: z.literal("kata").describe(ENGINE),
      install: engineInstall([fromRelease, fromPreinstalled]),
      hypervisor: kataHypervisor,
      ...crioHandlerCommon,
    },
    CONTAINERD_HANDLER_KEYS,
  ),
  strictObject({ engine: z.literal("nvidia").describe(ENGINE), install: nvidiaInstall, ...crioHandlerCommon }, CONTAINERD_HANDLER_KEYS),
  strictObject(
    {
      engine: z.literal("custom").describe(ENGINE),
      runtimeType: z.enum(["oci", "vm", "pod"]).default("oci").describe("CRI-O runtime_type."),
      runtimePath: absolutePath.describe("The runtime binary (oci) or shim (vm)."),
      runtimeRoot: absolutePath.optional().describe("The runtime's state directory (runtime_root)."),
      runtimeConfigPath: absolutePath.optional().describe("Configuration file the runtime reads (runtime_config_path, vm runtimes)."),
      ...crioHandlerCommon,
    },
    { snapshotter: CONTAINERD_HANDLER_KEYS.snapshotter!, options: CONTAINERD_HANDLER_KEYS.options! },
  ),
]);
export type CrioHandler = z.infer<typeof crioHandler>;

const crioMirror = strictObject(
  {
    url: httpUrl.describe("Mirror endpoint, e.g. https://mirror.internal:5000."),
    insecure: z.boolean().optional().describe("Plain HTTP or unverified TLS; implied for http:// URLs."),
    pullFromMirror: z.enum(["all", "digest-only", "tag-only"]).default("all").describe("registries.conf pull-from-mirror."),
  },
  {
    capabilities: containerdOnly("capabilities", "CRI-O mirrors serve pulls only; see pullFromMirror"),
    overridePath: containerdOnly("overridePath"),
    ca: containerdOnly("ca", "CRI-O reads CAs from /etc/containers/certs.d"),
    client: containerdOnly("client", "CRI-O reads client certificates from /etc/containers/certs.d"),
    header: containerdOnly("header"),
    skipVerify: "CRI-O calls this insecure",
    auth: "set auth on the registry, not on a mirror: CRI-O looks credentials up by registry",
  },
);

const crioRegistry = strictObject({
  server: strictObject({ url: httpUrl.describe("The registry's real endpoint."), insecure: z.boolean().optional().describe("Plain HTTP or unverified TLS; implied for http:// URLs.") }).optional().describe("Where the registry really is (registries.conf location); default: the registry's own host."),
  mirrors: z.array(crioMirror).default([]).describe("Tried in order before the server."),
  blocked: z.boolean().optional().describe("Refuse pulls from this registry."),
  auth: basicAuth.optional().describe("Credentials for the registry, written to /etc/containers/auth.json (0600) from stdin."),
});
export type CrioRegistryConfig = z.infer<typeof crioRegistry>;

const CONTAINERD_KEYS: ForeignKeys = {
  ...Object.fromEntries(["root", "state", "address", "snapshotter", "imports", "cgroupDriver"].map((key) => [key, containerdOnly(key)])),
  maxContainerLogLineSize: containerdOnly("maxContainerLogLineSize", "conmon writes long lines whole; CRI-O limits a log file's size instead (logSizeMax)"),
};

export const crioRuntime = strictObject(
  {
    kind: z.literal("crio").describe("The container runtime: containerd or crio."),
    version: semver("CRI-O").describe("CRI-O release; its minor matches the Kubernetes minor."),
    install: tagged("from", [
      strictObject({ from: z.literal("release").describe(INSTALL_FROM), prefix: releasePrefix.describe("Where bin/crio, bin/pinns, bin/crictl go.") }),
      strictObject({
        from: z.literal("package").describe(INSTALL_FROM),
        name: packageName.default("cri-o").describe("Package name in your CRI-O package repository."),
        version: packageVersion.optional().describe("Exact package version from your CRI-O package repository."),
      }),
      strictObject({ from: z.literal("preinstalled").describe(INSTALL_FROM) }),
    ]).prefault({ from: "release" }).describe("How CRI-O reaches the node: the upstream release bundle (checksum-verified), a package, or already there."),
    sandboxImage: sandboxImage.describe("Pause image for pod sandboxes (crio.image.pause_image)."),
    cgroupManager: z.enum(["systemd", "cgroupfs"]).optional().describe("Must equal kubeplug:cluster.kubelet.cgroupDriver when set."),
    storageDriver: z.enum(["overlay", "vfs", "btrfs", "zfs"]).default("overlay").describe("containers/storage driver for images and container filesystems."),
    logSizeMax: z.number().int().optional().describe("crio.runtime.log_size_max in bytes: -1 for no limit, otherwise at least 8192."),
    ...daemonSettings,
    cdi: cdiSettings.optional(),
    defaultRuntime: handlerName.default("crun").describe("Handler used when a pod names no RuntimeClass; CRI-O refuses to start without it."),
    runtimes: z.record(handlerName, crioHandler).prefault({ crun: { engine: "crun" } }).describe("Runtime handlers by name (the RuntimeClass handler), each a complete CRI-O runtime table."),
    registries: strictObject({
      hosts: z.record(registryHostName, crioRegistry).default({}).describe("Per registry (docker.io, registry.local:5000): where it really is, its mirrors, credentials. Hosts of kubeplug:cluster.registries are inherited; naming one here is an error (see overrides)."),
      overrides: z.record(registryHostName, crioRegistry).default({}).describe("Per host inherited from kubeplug:cluster.registries.hosts: this pool's entry, which replaces the cluster's whole entry for that host."),
      unqualifiedSearch: z.array(registryHostName).optional().describe("unqualified-search-registries; default none (short names are refused)."),
    }, { configPath: containerdOnly("configPath") }).prefault({}).describe("Registry mirrors and credentials: a registries.conf drop-in and auth.json; merged over kubeplug:cluster.registries."),
  },
  { ...CONTAINERD_KEYS, sandbox_image: 'did you mean "sandboxImage"?', overrides: "overrides are not supported for CRI-O yet: CRI-O ignores unknown keys, so kubeplug accepts only the settings it models" },
);
export type CrioConfig = z.infer<typeof crioRuntime>;
export type CrioConfigInput = z.input<typeof crioRuntime>;
