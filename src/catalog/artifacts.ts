import catalog from "./checksums.json";

export const ARTIFACT_NAMES = [
  "containerd",
  "runc",
  "crun",
  "youki",
  "kata-containers",
  "gvisor-runsc",
  "gvisor-containerd-shim",
  "cni-plugins",
  "cri-o",
  "crictl",
] as const;
export type ArtifactName = (typeof ARTIFACT_NAMES)[number];
export type Arch = "amd64" | "arm64";

const UNAME_ARCH: Record<Arch, string> = { amd64: "x86_64", arm64: "aarch64" };

interface ArtifactSpec {
  /** Upstream location; a configured base URL replaces it and keeps the path below it. */
  readonly upstream: string;
  readonly path: (version: string, arch: Arch) => string;
}

/** Upstream release layouts, as kubespray's download.yml (46dbdd39) and the projects' release scripts name them. */
const SPECS: Record<ArtifactName, ArtifactSpec> = {
  containerd: {
    upstream: "https://github.com/containerd/containerd/releases/download",
    path: (v, a) => `v${v}/containerd-${v}-linux-${a}.tar.gz`,
  },
  runc: { upstream: "https://github.com/opencontainers/runc/releases/download", path: (v, a) => `v${v}/runc.${a}` },
  crun: { upstream: "https://github.com/containers/crun/releases/download", path: (v, a) => `${v}/crun-${v}-linux-${a}` },
  youki: {
    upstream: "https://github.com/youki-dev/youki/releases/download",
    path: (v, a) => `v${v}/youki-${v}-${UNAME_ARCH[a]}-gnu.tar.gz`,
  },
  "kata-containers": {
    upstream: "https://github.com/kata-containers/kata-containers/releases/download",
    path: (v, a) => `${v}/kata-static-${v}-${a}.tar.zst`,
  },
  "gvisor-runsc": {
    upstream: "https://storage.googleapis.com/gvisor/releases/release",
    path: (v, a) => `${v}/${UNAME_ARCH[a]}/runsc`,
  },
  "gvisor-containerd-shim": {
    upstream: "https://storage.googleapis.com/gvisor/releases/release",
    path: (v, a) => `${v}/${UNAME_ARCH[a]}/containerd-shim-runsc-v1`,
  },
  "cni-plugins": {
    upstream: "https://github.com/containernetworking/plugins/releases/download",
    path: (v, a) => `v${v}/cni-plugins-linux-${a}-v${v}.tgz`,
  },
  "cri-o": { upstream: "https://storage.googleapis.com/cri-o/artifacts", path: (v, a) => `cri-o.${a}.v${v}.tar.gz` },
  crictl: {
    upstream: "https://github.com/kubernetes-sigs/cri-tools/releases/download",
    path: (v, a) => `v${v}/crictl-v${v}-linux-${a}.tar.gz`,
  },
};

type ChecksumTable = Partial<Record<string, Partial<Record<Arch, string>>>>;
const BUILT_IN = catalog.artifacts as Record<ArtifactName, ChecksumTable>;
export const CATALOG_SOURCE = catalog.source;

export interface DownloadSettings {
  readonly baseUrls: Partial<Record<ArtifactName, string>>;
  readonly checksums: Partial<Record<ArtifactName, ChecksumTable>>;
}

export interface ResolvedArtifact {
  readonly name: ArtifactName;
  readonly version: string;
  readonly arch: Arch;
  readonly url: string;
  readonly fileName: string;
  /** `sha256:<hex>` or `sha512:<hex>`. */
  readonly checksum: string;
}

export type ArtifactLookup = { ok: true; artifact: ResolvedArtifact } | { ok: false; reason: string };

/** Resolves an artifact to a URL and a checksum; user checksums take precedence over the catalog. */
export function resolveArtifact(name: ArtifactName, version: string, arch: Arch, downloads: DownloadSettings): ArtifactLookup {
  const spec = SPECS[name];
  const checksum = downloads.checksums[name]?.[version]?.[arch] ?? BUILT_IN[name][version]?.[arch];
  if (!checksum) {
    return {
      ok: false,
      reason:
        `${name} ${version} for ${arch} has no checksum in kubeplug's catalog (kubespray ${CATALOG_SOURCE.commit.slice(0, 8)}); ` +
        `add it as kubeplug:cluster.downloads.checksums.${name}["${version}"].${arch}`,
    };
  }
  const path = spec.path(version, arch);
  const base = (downloads.baseUrls[name] ?? spec.upstream).replace(/\/+$/, "");
  return { ok: true, artifact: { name, version, arch, url: `${base}/${path}`, fileName: path.split("/").pop()!, checksum } };
}

export function knownVersions(name: ArtifactName): string[] {
  return Object.keys(BUILT_IN[name]);
}
