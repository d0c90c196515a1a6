/**
 * STAND-IN release artifacts for the runtime and CNI e2e tests, served by the bed's mirror
 * (testbed/mirror.ts `ensureMirrorStandins`). Nothing outside Debian's and npm's registries is
 * reachable here, so each stand-in has its upstream name and layout (as kubeplug's catalog,
 * src/catalog/artifacts.ts, and test/fixtures/crio/bundle-layout.json describe them) and its own
 * sha256, which the tests put in the stack's `downloads.checksums`:
 *
 *   youki          v0.5.7/youki-0.5.7-x86_64-gnu.tar.gz       youki (this dir's youki/youki script), README.md, LICENSE
 *   Kata           3.32.0/kata-static-3.32.0-amd64.tar.zst     ./opt/kata/... (shim and kata-runtime scripts, configuration-*.toml, guest image placeholders)
 *   CRI-O          cri-o.amd64.v1.36.3.tar.gz                  cri-o/bin/* (this dir's crio/ scripts), cri-o/contrib/policy.json, and the rest of the bundle layout
 *   crictl         v1.36.0/crictl-v1.36.0-linux-amd64.tar.gz  crictl (the CRI-O bundle's stand-in crictl, crio/crictl: answers --version)
 *   CNI plugins    v1.1.1/cni-plugins-linux-amd64-v1.1.1.tgz   REAL plugin binaries: Debian bookworm's containernetworking-plugins 1.1.1 (usr/lib/cni)
 *                  v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz   ... and Debian sid's 1.9.1, flat like upstream's, plus README.md and LICENSE
 *
 * Each set is built once per content key (a hash of its inputs) and cached in the mirror.
 */
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { extractDeb, fetchDeb } from "../../support/debs";
import { check } from "../testbed/exec";
import { ensureMirrorStandins } from "../testbed/mirror";

const HERE = __dirname;
// Fixed owners, order and times, so the same inputs always give the same checksum.
const TAR_FLAGS = ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0"];
/** Bump when a builder below changes in a way its inputs do not show. */
const BUILDER_REVISION = "2";

export type Checksums = Record<string, { amd64: string }>;

export interface StandinRelease {
  /** For the stack's `downloads.baseUrls.<artifact>`. */
  baseUrl: string;
  /** For the stack's `downloads.checksums.<artifact>`, by version. */
  checksums: Checksums;
  /** The artifact files, by version, on this machine. */
  files: Record<string, string>;
}

export const YOUKI_VERSION = "0.5.7";
export const KATA_VERSION = "3.32.0";
export const CRIO_VERSION = "1.36.3";
export const CNI_VERSIONS = { old: "1.1.1", new: "1.9.1" } as const;
export const CRICTL_VERSION = "1.36.0";

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function keyOf(...parts: (string | Buffer)[]): string {
  const hash = createHash("sha256").update(BUILDER_REVISION);
  for (const part of parts) hash.update(sha256(part));
  return hash.digest("hex").slice(0, 12);
}

function release(baseUrl: string, dir: string, files: Record<string, string>): StandinRelease {
  const checksums: Checksums = {};
  const paths: Record<string, string> = {};
  for (const [version, relative] of Object.entries(files)) {
    paths[version] = join(dir, relative);
    checksums[version] = { amd64: `sha256:${sha256(readFileSync(paths[version]!))}` };
  }
  return { baseUrl, checksums, files: paths };
}

function put(path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

const standinNote = (what: string) => `STAND-IN for ${what}: built by kubeplug's e2e tests (test/e2e/standins/artifacts.ts); not the upstream file.\n`;

/** youki's release tarball: `youki`, README.md and LICENSE at the top (youki release.yaml). */
export async function youkiRelease(): Promise<StandinRelease> {
  const script = readFileSync(join(HERE, "youki", "youki"));
  const file = `v${YOUKI_VERSION}/youki-${YOUKI_VERSION}-x86_64-gnu.tar.gz`;
  const set = await ensureMirrorStandins("youki", keyOf(script), async (dir) => {
    const stage = join(dir, ".stage");
    put(join(stage, "youki"), script, 0o755);
    put(join(stage, "README.md"), standinNote(`youki ${YOUKI_VERSION}'s README.md`));
    put(join(stage, "LICENSE"), standinNote(`youki ${YOUKI_VERSION}'s LICENSE`));
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    await check("tar", ["-C", stage, ...TAR_FLAGS, "-I", "gzip -n", "-cf", join(dir, file), "youki", "README.md", "LICENSE"]);
    rmSync(stage, { recursive: true });
  });
  return release(set.url, set.dir, { [YOUKI_VERSION]: file });
}

/** Files of the Kata stand-in, below /: shims are scripts, configurations and guest assets are text. */
export function kataFiles(): Record<string, { content: string; mode: number }> {
  const shim = (what: string) =>
    `#!/bin/sh\n# ${standinNote(what).trim()}\n# It cannot start VMs; it only answers --version.\ncase "$1" in --version | -v) echo "Kata Containers containerd shim (Golang): id: \\"io.containerd.kata.v2\\", version: ${KATA_VERSION}, commit: kubeplug-e2e-standin"; exit 0 ;; esac\necho "kata stand-in (kubeplug e2e): cannot run: $*" >&2\nexit 1\n`;
  const config = (hypervisor: string) =>
    `# ${standinNote(`Kata ${KATA_VERSION}'s configuration-${hypervisor}.toml`).trim()}\n[hypervisor.${hypervisor}]\npath = "/opt/kata/bin/${hypervisor === "qemu" ? "qemu-system-x86_64" : hypervisor === "clh" ? "cloud-hypervisor" : "firecracker"}"\nkernel = "/opt/kata/share/kata-containers/vmlinux.container"\nimage = "/opt/kata/share/kata-containers/kata-containers.img"\n\n[runtime]\nsandbox_cgroup_only = true\n`;
  const files: Record<string, { content: string; mode: number }> = {
    "opt/kata/bin/containerd-shim-kata-v2": { content: shim(`Kata ${KATA_VERSION}'s containerd-shim-kata-v2`), mode: 0o755 },
    "opt/kata/bin/kata-runtime": { content: shim(`Kata ${KATA_VERSION}'s kata-runtime`), mode: 0o755 },
    "opt/kata/runtime-rs/bin/containerd-shim-kata-v2": { content: shim(`Kata ${KATA_VERSION}'s runtime-rs containerd-shim-kata-v2`), mode: 0o755 },
    "opt/kata/share/kata-containers/vmlinux.container": { content: standinNote("the Kata guest kernel"), mode: 0o644 },
    "opt/kata/share/kata-containers/kata-containers.img": { content: standinNote("the Kata guest image"), mode: 0o644 },
    "opt/kata/VERSION": { content: `${KATA_VERSION}\n`, mode: 0o644 },
  };
  for (const hypervisor of ["qemu", "clh", "fc"]) {
    files[`opt/kata/share/defaults/kata-containers/configuration-${hypervisor}.toml`] = { content: config(hypervisor), mode: 0o644 };
  }
  files["opt/kata/share/defaults/kata-containers/runtime-rs/configuration-dragonball.toml"] = { content: config("dragonball"), mode: 0o644 };
  return files;
}

/** Kata's kata-static tarball, zstd-compressed, extracted at / (entries ./opt/kata/...). */
export async function kataRelease(): Promise<StandinRelease> {
  const files = kataFiles();
  const file = `${KATA_VERSION}/kata-static-${KATA_VERSION}-amd64.tar.zst`;
  const set = await ensureMirrorStandins("kata", keyOf(JSON.stringify(files)), async (dir) => {
    const stage = join(dir, ".stage");
    for (const [path, { content, mode }] of Object.entries(files)) put(join(stage, path), content, mode);
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    // Debian's zstd, so building needs no tool beyond the bed's own (the tests also install it on a node).
    const zstd = join(extractDeb("bookworm", "zstd"), "usr", "bin", "zstd");
    await check("tar", ["-C", stage, ...TAR_FLAGS, "-I", `${zstd} -q -19 --no-progress`, "-cf", join(dir, file), "./opt"]);
    rmSync(stage, { recursive: true });
  });
  return release(set.url, set.dir, { [KATA_VERSION]: file });
}

/** Bundle members: the scripts of this dir's crio/ go to cri-o/bin, policy.json to cri-o/contrib. */
const CRIO_BINARIES = ["crio", "pinns", "crictl", "conmon", "conmonrs", "crun", "runc"];

/** The rest of upstream's bundle layout, which kubeplug must leave alone (bundle-layout.json "files"). */
function crioBundleExtras(): Record<string, { content: string; mode: number }> {
  const text = (what: string) => ({ content: standinNote(what), mode: 0o644 });
  return {
    "cri-o/bin/crio-credential-provider": { content: `#!/bin/sh\n# ${standinNote("crio-credential-provider").trim()}\nexit 1\n`, mode: 0o755 },
    // The bundle's own CNI plugins: kubeplug must not put these into /opt/cni/bin.
    "cri-o/cni-plugins/bridge": { content: `#!/bin/sh\n# ${standinNote("the bundle's CNI bridge plugin").trim()}\nexit 1\n`, mode: 0o755 },
    "cri-o/cni-plugins/host-local": { content: `#!/bin/sh\n# ${standinNote("the bundle's CNI host-local plugin").trim()}\nexit 1\n`, mode: 0o755 },
    "cri-o/contrib/10-crio-bridge.conflist.disabled": text("the bundle's 10-crio-bridge.conflist.disabled"),
    "cri-o/contrib/crio.service": text("the bundle's crio.service"),
    "cri-o/contrib/registries.conf": { content: 'unqualified-search-registries = ["docker.io"]\n', mode: 0o644 },
    "cri-o/etc/10-crio.conf": {
      content:
        '[crio.image]\nsignature_policy = "/etc/crio/policy.json"\n\n[crio.runtime]\ndefault_runtime = "crun"\n\n[crio.runtime.runtimes.crun]\nruntime_path = "/usr/libexec/crio/crun"\nruntime_root = "/run/crun"\nmonitor_path = "/usr/libexec/crio/conmon"\n',
      mode: 0o644,
    },
    "cri-o/etc/crictl.yaml": { content: 'runtime-endpoint: "unix:///var/run/crio/crio.sock"\ntimeout: 0\ndebug: false\n', mode: 0o644 },
    "cri-o/etc/crio-umount.conf": text("crio-umount.conf"),
    "cri-o/etc/crio": text("contrib/sysconfig/crio"),
    "cri-o/man/crio.8": text("crio.8"),
    "cri-o/completions/bash/crio": text("the crio bash completion"),
    "cri-o/install": { content: `#/usr/bin/env sh\n# ${standinNote("the bundle's install script").trim()}\nexit 1\n`, mode: 0o755 },
    "cri-o/README.md": text("the bundle's README.md"),
    "cri-o/LICENSE": text("the bundle's LICENSE"),
  };
}

/** CRI-O's release bundle with the stand-in binaries. */
export async function crioBundle(): Promise<StandinRelease> {
  const binaries = Object.fromEntries(CRIO_BINARIES.map((name) => [name, readFileSync(join(HERE, "crio", name))]));
  const policy = readFileSync(join(HERE, "crio", "policy.json"));
  const extras = crioBundleExtras();
  const file = `cri-o.amd64.v${CRIO_VERSION}.tar.gz`;
  const key = keyOf(...Object.values(binaries), policy, JSON.stringify(extras));
  const set = await ensureMirrorStandins("cri-o", key, async (dir) => {
    const stage = join(dir, ".stage");
    for (const [name, content] of Object.entries(binaries)) put(join(stage, "cri-o", "bin", name), content, 0o755);
    put(join(stage, "cri-o", "contrib", "policy.json"), policy);
    for (const [path, { content, mode }] of Object.entries(extras)) put(join(stage, path), content, mode);
    await check("tar", ["-C", stage, ...TAR_FLAGS, "-I", "gzip -n", "-cf", join(dir, file), "cri-o"]);
    rmSync(stage, { recursive: true });
  });
  return release(set.url, set.dir, { [CRIO_VERSION]: file });
}

/**
 * cri-tools' release tarball: `crictl` alone at the top (as upstream's). The binary is the CRI-O
 * bundle's stand-in crictl (crio/crictl): it answers `--version` like crictl 1.36.0; it cannot talk CRI.
 */
export async function crictlRelease(): Promise<StandinRelease> {
  const script = readFileSync(join(HERE, "crio", "crictl"));
  const file = `v${CRICTL_VERSION}/crictl-v${CRICTL_VERSION}-linux-amd64.tar.gz`;
  const set = await ensureMirrorStandins("crictl", keyOf(script), async (dir) => {
    const stage = join(dir, ".stage");
    put(join(stage, "crictl"), script, 0o755);
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    await check("tar", ["-C", stage, ...TAR_FLAGS, "-I", "gzip -n", "-cf", join(dir, file), "crictl"]);
    rmSync(stage, { recursive: true });
  });
  return release(set.url, set.dir, { [CRICTL_VERSION]: file });
}

/** The plugin binaries of a Debian containernetworking-plugins package, by name. */
export function debianCniPlugins(suite: "bookworm" | "sid"): Record<string, string> {
  const dir = join(extractDeb(suite, "containernetworking-plugins"), "usr", "lib", "cni");
  return Object.fromEntries(readdirSync(dir).filter((name) => statSync(join(dir, name)).isFile()).map((name) => [name, join(dir, name)]));
}

/** containernetworking/plugins release tarballs (flat: ./bridge, ..., ./README.md, ./LICENSE) from Debian's builds. */
export async function cniPluginsReleases(): Promise<StandinRelease & { plugins: Record<string, Record<string, string>> }> {
  const debs: Record<string, string> = { [CNI_VERSIONS.old]: fetchDeb("bookworm", "containernetworking-plugins"), [CNI_VERSIONS.new]: fetchDeb("sid", "containernetworking-plugins") };
  const plugins = { [CNI_VERSIONS.old]: debianCniPlugins("bookworm"), [CNI_VERSIONS.new]: debianCniPlugins("sid") };
  const fileOf = (version: string) => `v${version}/cni-plugins-linux-amd64-v${version}.tgz`;
  const set = await ensureMirrorStandins("cni-plugins", keyOf(...Object.values(debs).map((deb) => basename(deb))), async (dir) => {
    for (const [version, binaries] of Object.entries(plugins)) {
      const stage = join(dir, ".stage");
      for (const [name, path] of Object.entries(binaries)) {
        copyFileSync(path, join(mkdir(stage), name));
        chmodSync(join(stage, name), 0o755);
      }
      put(join(stage, "README.md"), standinNote(`containernetworking/plugins v${version}'s README.md (binaries: Debian's build of ${basename(debs[version]!)})`));
      put(join(stage, "LICENSE"), standinNote(`containernetworking/plugins v${version}'s LICENSE (Apache-2.0)`));
      const file = join(dir, fileOf(version));
      mkdirSync(dirname(file), { recursive: true });
      await check("tar", ["-C", stage, ...TAR_FLAGS, "-I", "gzip -n", "-cf", file, "."]);
      rmSync(stage, { recursive: true });
    }
  });
  const result = release(set.url, set.dir, { [CNI_VERSIONS.old]: fileOf(CNI_VERSIONS.old), [CNI_VERSIONS.new]: fileOf(CNI_VERSIONS.new) });
  return { ...result, plugins };
}

function mkdir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** sha256 of a file on this machine, hex. */
export function fileSha256(path: string): string {
  return sha256(readFileSync(path));
}
