import { z } from "zod";
import { basicAuth } from "./secrets";
import { describeValue } from "./path";
import { absolutePath, httpUrl, packageName, packageVersion, semver } from "./primitives";
import { annotations, cdiSettings, INSTALL_FROM, nvidiaInstall, fromPackage, fromPreinstalled, fromRelease, gvisorPlatform, handlerName, kataHypervisor, registryHostName, releasePrefix, sandboxImage } from "./runtime-common";
import { ForeignKeys, strictObject, tagged } from "./zod";
import { daemonSettings } from "./daemon-settings";
import { OCI_RUNTIME_SPEC_VERSION, ociSpecProblems } from "../catalog/oci-runtime-spec";

/** A complete OCI runtime config: containerd starts every container of the handler from it instead of its built-in default. */
const baseRuntimeSpec = z
  .record(z.string(), z.unknown())
  .superRefine((spec, ctx) => {
    for (const problem of ociSpecProblems(spec)) {
      ctx.addIssue({ code: "custom", input: spec, message: `does not follow the OCI runtime spec ${OCI_RUNTIME_SPEC_VERSION} schema: ${problem}` });
    }
  })
  .describe(
    `A complete OCI runtime config (config.json) every container of this handler starts from, instead of containerd's built-in default: e.g. rlimits or default mounts. Checked against the OCI runtime-spec ${OCI_RUNTIME_SPEC_VERSION} JSON schema; start from \`ctr oci spec\`, since containerd does not merge it with its default. Written to /etc/containerd/base-runtime-spec/ (base_runtime_spec).`,
  );

const commonHandler = {
  podAnnotations: annotations,
  containerAnnotations: annotations,
  privilegedWithoutHostDevices: z.boolean().optional().describe("Privileged pods of this handler do not get the host's devices (set for VM runtimes such as Kata)."),
  snapshotter: z.string().min(1).optional().describe("Per-handler snapshotter (containerd 1.7+)."),
  baseRuntimeSpec: baseRuntimeSpec.optional(),
};

/** The newest crictl in the catalog; crictl talks CRI v1 to any containerd kubeplug supports. */
export const CRICTL_DEFAULT_VERSION = "1.36.0";
export const CRICTL_CONFIG = "/etc/crictl.yaml";
const CRICTL_FROM = `release: kubeplug downloads cri-tools (checksum-verified) to /usr/local/bin/crictl; preinstalled: crictl is on the node's PATH (checked); both get ${CRICTL_CONFIG}. none: neither, and a ${CRICTL_CONFIG} kubeplug wrote before is moved aside.`;

const crioOnly = (what: string): string => `${what} is a CRI-O setting; this runtime is kind: containerd`;

/** CRI-O settings that mean nothing to containerd: named, not just "unknown". */
const CRIO_POOL_KEYS: ForeignKeys = {
  storageDriver: crioOnly('"storageDriver"') + ' (containerd calls it "snapshotter")',
  cgroupManager: crioOnly('"cgroupManager"') + ' (containerd follows kubeplug:cluster.kubelet.cgroupDriver)',
  logSizeMax: crioOnly('"logSizeMax"') + ' (containerd splits long lines instead: "maxContainerLogLineSize")',
};

const CRIO_HANDLER_KEYS: ForeignKeys = {
  allowedAnnotations: crioOnly('"allowedAnnotations"') + ' (containerd calls it "podAnnotations")',
  runtimeRoot: crioOnly('"runtimeRoot"'),
  runtimeConfigPath: crioOnly('"runtimeConfigPath"'),
};

/** runc-compatible engines run under containerd's runc shim with `BinaryName`. */
const runcShimOptions = strictObject({
  NoPivotRoot: z.boolean().optional().describe("Start containers without pivot_root (for rootfs on ramfs)."),
  NoNewKeyring: z.boolean().optional().describe("Do not give each container its own session keyring."),
  Root: absolutePath.optional().describe("The OCI runtime's state directory (runc --root)."),
  ShimCgroup: z.string().optional().describe("Cgroup the shim process is moved into."),
  IoUid: z.number().int().min(0).optional().describe("Owner UID of the container's stdio pipes."),
  IoGid: z.number().int().min(0).optional().describe("Owner GID of the container's stdio pipes."),
}).describe("Extra runc shim options; SystemdCgroup and BinaryName are set by kubeplug.");

const ENGINE = "The OCI runtime the handler runs: runc, crun, youki, gvisor, kata, nvidia (nvidia-container-runtime, for GPU pools), or custom (any shim you install).";
const engineInstall = <const Sources extends readonly [z.ZodObject, ...z.ZodObject[]]>(sources: Sources) =>
  tagged("from", sources).describe("How the engine reaches the node: a Debian package, the upstream release (checksum-verified), or already there.");

export const runtimeHandler = tagged("engine", [
  strictObject({
    engine: z.literal("runc").describe(ENGINE),
    install: engineInstall([fromPackage, fromRelease, fromPreinstalled]).prefault({ from: "package" }),
    options: runcShimOptions.optional(),
    ...commonHandler,
  }, CRIO_HANDLER_KEYS),
  strictObject({
    engine: z.literal("crun").describe(ENGINE),
    install: engineInstall([fromPackage, fromRelease, fromPreinstalled]).prefault({ from: "package" }),
    options: runcShimOptions.optional(),
    ...commonHandler,
  }, CRIO_HANDLER_KEYS),
  strictObject({
    engine: z.literal("youki").describe(ENGINE),
    install: engineInstall([fromRelease, fromPreinstalled]),
    options: runcShimOptions.optional(),
    ...commonHandler,
  }, CRIO_HANDLER_KEYS),
  strictObject({
    engine: z.literal("gvisor").describe(ENGINE),
    install: engineInstall([fromPackage, fromRelease, fromPreinstalled]).prefault({ from: "package" }),
    platform: gvisorPlatform,
    ...commonHandler,
  }, CRIO_HANDLER_KEYS),
  strictObject({
    engine: z.literal("kata").describe(ENGINE),
    install: engineInstall([fromRelease, fromPreinstalled]),
    hypervisor: kataHypervisor,
    ...commonHandler,
  }, CRIO_HANDLER_KEYS),
  strictObject({
    engine: z.literal("nvidia").describe(ENGINE),
    install: nvidiaInstall,
    options: runcShimOptions.optional(),
    ...commonHandler,
  }, CRIO_HANDLER_KEYS),
  strictObject({
    engine: z.literal("custom").describe(ENGINE),
    runtimeType: z.string().regex(/^io\.containerd\.[a-z0-9-]+\.v[0-9]+$/, {
      error: (issue) => `${describeValue(issue.input)} is not a shim type such as "io.containerd.runc.v2"`,
    }).describe("Shim type (runtime_type), e.g. io.containerd.wasmtime.v1."),
    runtimePath: absolutePath.optional().describe("The shim binary; default: containerd-shim-<name>-<version> found on PATH."),
    options: z.record(z.string(), z.unknown()).optional().describe("Shim options table, passed through as written."),
    ...commonHandler,
  }, CRIO_HANDLER_KEYS),
]);
export type RuntimeHandler = z.infer<typeof runtimeHandler>;
export type RuntimeEngine = RuntimeHandler["engine"];

// The PEM text is not echoed: it spans lines, and problems are one line each.
const pem = z.string().describe("The CA certificate itself, PEM-encoded.").includes("-----BEGIN CERTIFICATE-----", { error: 'has no "-----BEGIN CERTIFICATE-----" line: expected a PEM certificate' });
const caSource = z.union([absolutePath, strictObject({ pem })]);

const endpointTls = {
  ca: z.array(caSource).optional().describe("CA certificates: a path on the node, or `{ pem }` which kubeplug writes next to hosts.toml."),
  client: z.array(strictObject({ cert: absolutePath.describe("Client certificate file on the node."), key: absolutePath.describe("Its private key file on the node.") })).optional().describe("Client certificate and key pairs (paths on the node)."),
  skipVerify: z.boolean().optional().describe("Skip TLS verification for this endpoint. Never in production."),
  header: z.record(
    z.string().regex(/^[A-Za-z0-9-]+$/, { error: (issue) => `${describeValue(issue.input)} is not an HTTP header name (letters, digits and "-")` }),
    z.array(z.string()),
  ).optional().describe("HTTP headers sent with every request to this endpoint."),
  auth: basicAuth.optional().describe("Credentials for this endpoint's host; stored in config.toml (mode 0600), passed on stdin."),
};

const mirror = strictObject({
  url: httpUrl.describe("Mirror endpoint, e.g. https://mirror.internal:5000."),
  capabilities: z.array(z.enum(["pull", "resolve", "push"])).min(1).default(["pull", "resolve"]).describe("What containerd may use the mirror for: pull (layers), resolve (tags to digests), push."),
  overridePath: z.boolean().optional().describe("The URL path is the API root (no /v2 appended)."),
  ...endpointTls,
});
export type RegistryMirror = z.infer<typeof mirror>;

export const registryHost = strictObject({
  server: strictObject({ url: httpUrl.describe("The registry's own endpoint."), ...endpointTls }).optional().describe("The upstream registry endpoint; default: containerd's own (https://<host>, registry-1.docker.io for docker.io)."),
  mirrors: z.array(mirror).default([]).describe("Tried in order before the server."),
});
export type RegistryHostConfig = z.infer<typeof registryHost>;


export const containerdRuntime = strictObject({
  kind: z.literal("containerd").describe("The container runtime: containerd or crio."),
  version: semver("containerd").describe("containerd release; selects config version 2 (1.6/1.7) or 3 (2.x) and the install artifact."),
  install: tagged("from", [
    strictObject({
      from: z.literal("package").describe(INSTALL_FROM),
      name: packageName.default("containerd").describe("Debian package name."),
      version: packageVersion.optional().describe("Exact package version (e.g. 1.6.20~ds1-1+deb12u3); must belong to `version`."),
    }),
    strictObject({ from: z.literal("release").describe(INSTALL_FROM), prefix: releasePrefix.describe("Install prefix for bin/ (upstream tarball layout).") }),
    strictObject({ from: z.literal("preinstalled").describe(INSTALL_FROM) }),
  ]).prefault({ from: "package" }).describe("How containerd reaches the node: a Debian package, the upstream release tarball (checksum-verified), or already there."),
  root: absolutePath.default("/var/lib/containerd").describe("Persistent data: images, snapshots, content."),
  state: absolutePath.default("/run/containerd").describe("Runtime state: sockets, shims, mounts."),
  address: absolutePath.default("/run/containerd/containerd.sock").describe("gRPC socket; kubelet's runtime endpoint is unix://<address>."),
  sandboxImage: sandboxImage.describe("Pause image for pod sandboxes (sandbox_image / sandbox)."),
  snapshotter: z.enum(["overlayfs", "native", "btrfs", "zfs", "devmapper"]).default("overlayfs").describe("Snapshotter for container filesystems; a handler may set its own (1.7+)."),
  cgroupDriver: z.enum(["systemd", "cgroupfs"]).optional().describe("Must equal kubeplug:cluster.kubelet.cgroupDriver when set; SystemdCgroup follows the kubelet."),
  defaultRuntime: handlerName.default("runc").describe("Handler used when a pod names no RuntimeClass."),
  runtimes: z.record(handlerName, runtimeHandler).prefault({ runc: { engine: "runc" } }).describe("Runtime handlers by name (the RuntimeClass handler); kubeplug installs each engine and makes a RuntimeClass per handler."),
  registries: strictObject({
    configPath: absolutePath.default("/etc/containerd/certs.d").describe("Where the hosts.toml files go (config_path)."),
    hosts: z.record(registryHostName, registryHost).default({}).describe("Per registry host (docker.io, registry.local:5000, or _default for every host): its server and mirrors. Hosts of kubeplug:cluster.registries are inherited; naming one here is an error (see overrides)."),
    overrides: z.record(registryHostName, registryHost).default({}).describe("Per host inherited from kubeplug:cluster.registries.hosts: this pool's entry, which replaces the cluster's whole entry for that host."),
  }).prefault({}).describe("Registry mirrors, TLS and credentials, written as hosts.toml per registry; merged over kubeplug:cluster.registries."),
  cdi: cdiSettings.optional(),
  crictl: tagged("from", [
    strictObject({
      from: z.literal("release").describe(CRICTL_FROM),
      version: semver("crictl").default(CRICTL_DEFAULT_VERSION).describe("cri-tools release; its checksum comes from the catalog (kubespray's) or downloads.checksums.crictl."),
    }),
    strictObject({ from: z.literal("preinstalled").describe(CRICTL_FROM) }),
    strictObject({ from: z.literal("none").describe(CRICTL_FROM) }),
  ]).prefault({ from: "release" }).describe(`crictl, the CRI client, on every node of the pool, with an owned ${CRICTL_CONFIG} that points at this pool's containerd (address).`),
  imports: z.array(absolutePath).optional().describe("Drop-in files other tools own. Default: /etc/containerd/conf.d/*.toml on 2.x, none on 1.x (where imports replace whole plugin sections)."),
  maxContainerLogLineSize: z.number().int().min(-1).refine((n) => n !== 0, { error: "0 is not a log line size: use a size in bytes, or -1 for no limit" }).optional().describe("Longest container log line in bytes before containerd splits it (max_container_log_line_size); -1: no limit. Unset: containerd's default, 16384."),
  ...daemonSettings,
  overrides: z.record(z.string(), z.unknown()).default({}).describe("Raw TOML tree merged into the rendered config.toml. Each key must be one the pool's containerd line reads (checked against the key list in src/catalog/containerd-keys.json; see docs/runtimes.md), and may not change a key kubeplug manages."),
}, CRIO_POOL_KEYS);
export type ContainerdConfig = z.infer<typeof containerdRuntime>;
export type ContainerdConfigInput = z.input<typeof containerdRuntime>;

