import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { debVersion, extractDeb, fetchDeb, type Suite } from "../../support/debs";
import { check, tail } from "./exec";
import { delay, isRunning, startDetached, type ProcessRef } from "./processes";
import { BASE_KEY, DEBIAN_MIRROR, ensureBaseTarball, unpackBase } from "./rootfs";
import { CACHE_DIR, HOST_ADDRESS, MIRROR_PORT, MIRROR_URL } from "./settings";

/**
 * What the bed serves on its link, built once per base rootfs:
 *   debian/    flat apt repo: bookworm's containerd 1.6.20, runc, crun, containernetworking-plugins 1.1.1
 *              (the dev stack's CNI plugins), zstd, the CSI drivers' node packages (nfs-common,
 *              cifs-utils, open-iscsi, multipath-tools), Docker Engine (docker.io, for the runtime swap from
 *              Docker) with what the base lacks of their dependencies,
 *              plus sid's containerd 2.1.9 (its dependencies are all in bookworm)
 *   releases/containerd/v<ver>/containerd-<ver>-linux-amd64.tar.gz(.sha256sum)
 *              STAND-INS for the upstream release tarballs (same `bin/` layout), built from the Debian
 *              binaries because nothing outside Debian's and npm's registries is reachable here
 */
/** The packages the bed's apt repository offers; part of the cache key, so a change rebuilds the mirror. */
const MIRROR_PACKAGES = ["containerd", "runc", "crun", "containernetworking-plugins", "zstd", "nfs-common", "cifs-utils", "open-iscsi", "multipath-tools", "docker.io"];
const MIRROR_DIR = join(CACHE_DIR, `mirror-${BASE_KEY}-${MIRROR_PACKAGES.join("-")}`);
const REPO_ROOT = join(__dirname, "..", "..", "..");
const SERVER = join(__dirname, "mirror-server.ts");
const RELEASE_SUITES: Suite[] = ["bookworm", "sid"];

export async function ensureMirror(): Promise<string> {
  if (existsSync(MIRROR_DIR)) return MIRROR_DIR;
  const base = await ensureBaseTarball();
  const build = mkdtempSync(join(CACHE_DIR, "mirror-build-"));
  try {
    const repo = join(build, "debian");
    mkdirSync(repo);
    await downloadClosure(base, join(build, "chroot"), fetchDeb("sid", "containerd"), repo);
    await indexFlatRepo(repo);
    for (const suite of RELEASE_SUITES) await buildReleaseTarball(suite, join(build, "releases", "containerd"), join(build, "stage"));
    chmodSync(build, 0o755);
    publish(build, MIRROR_DIR);
    return MIRROR_DIR;
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}

/** Moves a finished build under its cached name; a build that finished first in another process wins. */
function publish(build: string, target: string): void {
  try {
    renameSync(build, target);
  } catch (error) {
    if (!existsSync(target)) throw error;
  }
}

/**
 * Writes the index of a flat apt repository of `.deb`s: `deb [trusted=yes] <url> ./` on a node. The
 * Release is unsigned (nodes trust the repo), so apt fetches the plain index at once instead of
 * probing for compressed ones.
 */
export async function indexFlatRepo(repo: string): Promise<void> {
  // --multiversion: both containerd versions must be listed, not just the newest.
  const packages = await check("dpkg-scanpackages", ["--multiversion", "."], { cwd: repo });
  writeFileSync(join(repo, "Packages"), packages);
  const bytes = Buffer.from(packages);
  writeFileSync(join(repo, "Release"), `Date: ${new Date().toUTCString()}\nSHA256:\n ${sha256(bytes)} ${bytes.length} Packages\n`);
}

/**
 * Downloads into `repo` the bookworm packages a node lacks for MIRROR_PACKAGES, by asking apt
 * in a throwaway copy of the base (so "lacks" is measured against exactly what nodes have). Resolving
 * sid's containerd there too proves bookworm satisfies its dependencies, and fetches any the base lacks.
 */
async function downloadClosure(base: string, chroot: string, sidDeb: string, repo: string): Promise<void> {
  copyFileSync(sidDeb, join(repo, basename(sidDeb)));
  await downloadForNodes(base, chroot, repo, [MIRROR_PACKAGES, [`/repo/${basename(sidDeb)}`]]);
}

/**
 * Downloads into `repo` what a node lacks to install each list of `installs` (package names, or
 * `/repo/<file>.deb` for a `.deb` already in `repo`), resolved by apt in a copy of the base unpacked
 * at `chroot` (removed afterwards), so "lacks" is measured against exactly what nodes have.
 */
export async function downloadForNodes(base: string, chroot: string, repo: string, installs: readonly (readonly string[])[]): Promise<void> {
  await unpackBase(base, chroot);
  try {
    rmSync(join(chroot, "etc/resolv.conf"), { force: true });
    writeFileSync(join(chroot, "etc/resolv.conf"), readFileSync("/etc/resolv.conf"));
    writeFileSync(join(chroot, "etc/apt/sources.list"), `deb ${DEBIAN_MIRROR} bookworm main\n`);
    mkdirSync(join(chroot, "repo"));
    for (const deb of readdirSync(repo).filter((name) => name.endsWith(".deb"))) copyFileSync(join(repo, deb), join(chroot, "repo", deb));
    // kubeplug installs with --no-install-recommends, so recommends (runc's criu, and python with it) stay out.
    const apt = (...args: string[]) => check("chroot", [chroot, "apt-get", "-q", "-y", ...args]);
    await apt("update");
    for (const packages of installs) await apt("install", "--download-only", "--no-install-recommends", ...packages);
    const archives = join(chroot, "var/cache/apt/archives");
    for (const deb of readdirSync(archives).filter((name) => name.endsWith(".deb"))) copyFileSync(join(archives, deb), join(repo, deb));
  } finally {
    rmSync(chroot, { recursive: true, force: true });
  }
}

/** A stand-in for containerd's upstream release tarball of the version `suite` packages. */
async function buildReleaseTarball(suite: Suite, releases: string, stage: string): Promise<void> {
  const version = upstreamVersion(debVersion(fetchDeb(suite, "containerd")));
  const binaries = join(extractDeb(suite, "containerd"), "usr", "bin");
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, "bin"), { recursive: true });
  for (const name of readdirSync(binaries).filter((n) => n.startsWith("containerd") || n === "ctr")) {
    copyFileSync(join(binaries, name), join(stage, "bin", name));
    chmodSync(join(stage, "bin", name), 0o755);
  }
  const dir = join(releases, `v${version}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, releaseFileName(version));
  // Fixed owners, order and times, so the same .deb always gives the same checksum.
  await check("tar", ["-C", stage, "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-I", "gzip -n", "-cf", file, "bin"]);
  writeFileSync(`${file}.sha256sum`, `${sha256(readFileSync(file))}  ${basename(file)}\n`);
}

/** "1.6.20~ds1-1+deb12u3" → "1.6.20": the release a Debian version packages. */
function upstreamVersion(debianVersion: string): string {
  const match = /^(?:\d+:)?(\d+(?:\.\d+)+)/.exec(debianVersion);
  if (!match) throw new Error(`cannot tell the upstream release of Debian version ${debianVersion}`);
  return match[1]!;
}

const releaseFileName = (version: string) => `containerd-${version}-linux-amd64.tar.gz`;

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Checksums of the stand-in containerd release tarballs, shaped for the stack's
 * `downloads.checksums.containerd`: `{ "1.6.20": { amd64: "sha256:…" }, "2.1.9": { … } }`.
 */
export async function containerdReleaseChecksums(): Promise<Record<string, { amd64: string }>> {
  const releases = join(await ensureMirror(), "releases", "containerd");
  const entries = readdirSync(releases).map((dir) => {
    const version = dir.replace(/^v/, "");
    const line = readFileSync(join(releases, dir, `${releaseFileName(version)}.sha256sum`), "utf8");
    return [version, { amd64: `sha256:${line.split(" ")[0]}` }] as const;
  });
  return Object.fromEntries(entries);
}

export interface MirrorStandins {
  /** Directory the stand-ins were built in, below the mirror. */
  dir: string;
  /** Its URL on the bed's link: a `downloads.baseUrls.<artifact>` that keeps upstream's path layout below it. */
  url: string;
}

/**
 * Extra STAND-IN artifacts a test serves from the bed's mirror, under `releases/standins/<name>-<key>/`:
 * `build(dir)` fills an empty directory once per key (make the key a hash of everything that shapes
 * the files), which then moves into the mirror whole. The server reads files per request, so this
 * works before or while a bed runs.
 */
export async function ensureMirrorStandins(name: string, key: string, build: (dir: string) => Promise<void>): Promise<MirrorStandins> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !/^[a-z0-9]+$/.test(key)) throw new Error(`stand-in set name "${name}" or key "${key}" is not a plain lowercase word`);
  const mirror = await ensureMirror();
  const relative = join("releases", "standins", `${name}-${key}`);
  const target = join(mirror, relative);
  if (!existsSync(target)) {
    mkdirSync(dirname(target), { recursive: true });
    const work = mkdtempSync(join(CACHE_DIR, `standins-build-${name}-`));
    try {
      await build(work);
      chmodSync(work, 0o755);
      publish(work, target);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return { dir: target, url: `${MIRROR_URL}/releases/standins/${name}-${key}` };
}

/** Serves the mirror on the bed's link in a process of its own (see mirror-server.ts). */
export function startMirrorServer(mirror: string, logFile: string): ProcessRef {
  // tsx resolves from the repository, whatever the caller's working directory.
  return startDetached(process.execPath, ["--import", "tsx", SERVER, mirror, HOST_ADDRESS, String(MIRROR_PORT)], logFile, REPO_ROOT);
}

export async function waitForMirror(server: ProcessRef, logFile: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await answers(`${MIRROR_URL}/debian/Packages`))) {
    if (!isRunning(server) || Date.now() > deadline) {
      throw new Error(`the mirror server did not come up on ${MIRROR_URL}:\n${tail(readFileSync(logFile, "utf8"))}`);
    }
    await delay(100);
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { method: "HEAD" })).ok;
  } catch {
    return false;
  }
}
