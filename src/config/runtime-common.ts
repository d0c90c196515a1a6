import { z } from "zod";
import { DEFAULT_CDI_SPEC_DIRS, DEFAULT_KATA_HYPERVISOR, GVISOR_PLATFORMS, KATA_HYPERVISORS } from "../catalog/engines";
import { absolutePath, dnsLabel, httpUrl, packageName, packageVersion, pinnedImage } from "./primitives";
import { describeValue } from "./path";
import { strictObject } from "./zod";

// Pieces every runtime kind shares: how binaries are installed, handler names, registry host names.

/** How a binary reaches the node. Each engine lists which of these it supports. */
export const INSTALL_FROM = "package: apt installs it; release: kubeplug downloads the upstream release and checks its checksum; preinstalled: it is already there; bundle (CRI-O): the build inside the CRI-O bundle.";
export const fromPackage = strictObject({
  from: z.literal("package").describe(INSTALL_FROM),
  name: packageName.optional().describe("Debian package name; default: the engine's usual package."),
  version: packageVersion.optional().describe("Exact package version to pin (apt `name=version`); default: the repository's candidate."),
});
export const fromRelease = strictObject({
  from: z.literal("release").describe(INSTALL_FROM),
  version: z.string().min(1).describe("Upstream release version; its checksum comes from the catalog or kubeplug:cluster.downloads.checksums."),
});
export const fromPreinstalled = strictObject({
  from: z.literal("preinstalled").describe(INSTALL_FROM),
  path: absolutePath.describe("Where the binary already is; kubeplug only checks it exists."),
});

/** The pod sandbox (pause) image; kubeadm 1.31–1.35 pins the same one. */
export const sandboxImage = pinnedImage.default("registry.k8s.io/pause:3.10");

/** gVisor's platform; systrap is runsc's own default and needs no /dev/kvm. */
export const gvisorPlatform = z.enum(GVISOR_PLATFORMS).default("systrap").describe("gVisor platform; kvm needs /dev/kvm.");
export const kataHypervisor = z.enum(KATA_HYPERVISORS).default(DEFAULT_KATA_HYPERVISOR).describe("Kata hypervisor: picks the shim and its shipped configuration under /opt/kata.");
/** Upstream tarballs unpack bin/ under this prefix. */
export const releasePrefix = absolutePath.default("/usr/local");

export const annotations = z.array(z.string().min(1)).optional().describe("Annotation globs passed through to the runtime (pod_annotations / container_annotations).");

/** A runtime handler name is what RuntimeClass.handler points at, so it must be a DNS label. */
export const handlerName = dnsLabel("runtime handler name (RuntimeClass.handler must be a DNS-1123 label)");

const REGISTRY_HOST = /^(_default|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?)$/;
export const registryHostName = z.string().regex(REGISTRY_HOST, {
  error: (issue) => `${JSON.stringify(issue.input)} is not a registry host such as "docker.io" or "registry.local:5000" (no scheme, no path), or "_default"`,
});

// NVIDIA GPU pools ---------------------------------------------------------------------------------

const APT_WORD = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const PGP_BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

/** A Debian package repository, written as a deb822 .sources file with its own key (Signed-By). */
export const aptRepository = strictObject(
  {
    url: httpUrl.describe("The repository's base URL (URIs), e.g. https://nvidia.github.io/libnvidia-container/stable/deb/amd64 or your mirror of it."),
    suite: z
      .string()
      .regex(/^[A-Za-z0-9._+\/-]+$/, { error: (issue) => `${describeValue(issue.input)} is not an apt suite such as "bookworm", or a path ending in "/" for a flat repository` })
      .describe('Suite (Suites), e.g. "stable"; a flat repository such as NVIDIA\'s has suite "/" (or a path ending in "/") and no components.'),
    components: z
      .array(z.string().regex(APT_WORD, { error: (issue) => `${describeValue(issue.input)} is not an apt component such as "main"` }))
      .default([])
      .describe('Components, e.g. ["main"]; none for a flat repository (suite ending in "/").'),
    // The key text is not echoed: it spans lines, and problems are one line each.
    signingKey: z
      .string()
      .includes(PGP_BEGIN, { error: `has no "${PGP_BEGIN}" line: expected the repository's ASCII-armored public key` })
      .describe("The repository's ASCII-armored public key (e.g. NVIDIA's https://nvidia.github.io/libnvidia-container/gpgkey). Written to /etc/apt/keyrings/; apt trusts it for this repository only."),
  },
  {},
  'the NVIDIA Container Toolkit comes from a package repository you name: set repository: { url, suite, components, signingKey } (NVIDIA\'s apt repository or your mirror of it)',
);
export type AptRepositoryConfig = z.infer<typeof aptRepository>;

export const NVIDIA_TOOLKIT_PACKAGE = "nvidia-container-toolkit";

const nvidiaFromPackage = strictObject({
  from: z.literal("package").describe(INSTALL_FROM),
  repository: aptRepository.describe("The apt repository the toolkit comes from: NVIDIA's (https://nvidia.github.io/libnvidia-container/stable/deb/<arch>, suite \"/\") or your mirror of it. Written as /etc/apt/sources.list.d/kubeplug-nvidia-container-toolkit.sources."),
  name: packageName.default(NVIDIA_TOOLKIT_PACKAGE).describe("The toolkit's package; it brings nvidia-container-runtime and nvidia-ctk."),
  version: packageVersion.optional().describe("Exact package version to pin (apt `name=version`), e.g. 1.17.8-1; default: the repository's candidate."),
});

/** The NVIDIA engine has no default source: the toolkit is in no Debian suite, so the user names its repository. */
export const NVIDIA_INSTALL_MISSING =
  "the nvidia engine needs a source for the NVIDIA Container Toolkit: install: { from: package, repository: { url, suite, components, signingKey } } (NVIDIA's apt repository or your mirror of it), or install: { from: preinstalled, path: /usr/bin/nvidia-container-runtime }";

export const nvidiaInstall = z
  .discriminatedUnion("from", [nvidiaFromPackage, fromPreinstalled], {
    error: (issue) => {
      if ((issue.code as string) === "invalid_type" && issue.input === undefined) return NVIDIA_INSTALL_MISSING;
      if (issue.code !== "invalid_union") return undefined;
      const from = (issue.input as Record<string, unknown> | undefined)?.from;
      return `${from === undefined ? '"from" is required' : `${describeValue(from)} is not a source of the NVIDIA Container Toolkit`}: one of package (with repository), preinstalled`;
    },
  })
  .describe("How the NVIDIA Container Toolkit reaches the node: from the apt repository you name (package), or already there (preinstalled).");

/**
 * CDI (Container Device Interface): the runtime injects devices described by spec files in these directories
 * when a container asks for them (the CRI CDIDevices field, or a cdi.k8s.io/ annotation).
 */
export const cdiSettings = strictObject({
  specDirs: z.array(absolutePath).min(1).default([...DEFAULT_CDI_SPEC_DIRS]).describe("Directories of CDI spec files (cdi_spec_dirs); later ones take precedence. nvidia-ctk cdi generate writes to /etc/cdi or /var/run/cdi."),
}).describe("Turns CDI device injection on (containerd enable_cdi, 1.7+; CRI-O always has it) and says where the spec files are. On by default in a pool with an nvidia handler.");
export type CdiSettings = z.infer<typeof cdiSettings>;

/** The CDI settings a pool renders: its own, or the defaults when a handler needs CDI (nvidia); undefined: left to the runtime. */
export function poolCdi(runtime: { readonly cdi?: CdiSettings | undefined; readonly runtimes: Readonly<Record<string, { readonly engine: string }>> }): CdiSettings | undefined {
  if (runtime.cdi) return runtime.cdi;
  return Object.values(runtime.runtimes).some((h) => h.engine === "nvidia") ? { specDirs: [...DEFAULT_CDI_SPEC_DIRS] } : undefined;
}
