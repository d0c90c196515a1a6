import { z } from "zod";
import { DEFAULT_KATA_HYPERVISOR, GVISOR_PLATFORMS, KATA_HYPERVISORS } from "../catalog/engines";
import { absolutePath, dnsLabel, packageName, packageVersion, pinnedImage } from "./primitives";
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
