import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { check } from "./exec";
import { CACHE_DIR, MIRROR_URL } from "./settings";

const SUITE = "bookworm";
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";
const INCLUDE = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "ca-certificates", "curl"];

// Bump when slim() changes, so machines with an older cached base build a new one.
const BASE_REVISION = 2;
/** Cache key of everything that shapes the base rootfs, so a changed include list builds a new one. */
export const BASE_KEY = createHash("sha256").update(`${SUITE} minbase ${INCLUDE.join(",")} ${BASE_REVISION}`).digest("hex").slice(0, 12);
const BASE_TARBALL = join(CACHE_DIR, `rootfs-${SUITE}-${BASE_KEY}.tar`);

// Numeric owners because the rootfs's users (_apt, messagebus, sshd) need not exist on the host, or not
// with the same IDs; xattrs so file capabilities survive.
const TAR_FLAGS = ["--numeric-owner", "--xattrs", "--xattrs-include=*"];

/** The cached base rootfs tarball, debootstrapped on first use (about a minute). */
export async function ensureBaseTarball(): Promise<string> {
  if (existsSync(BASE_TARBALL)) return BASE_TARBALL;
  mkdirSync(CACHE_DIR, { recursive: true });
  const build = mkdtempSync(join(CACHE_DIR, "rootfs-build-"));
  try {
    const root = join(build, "root");
    await check("debootstrap", ["--variant=minbase", `--include=${INCLUDE.join(",")}`, SUITE, root, DEBIAN_MIRROR]);
    slim(root);
    await check("tar", ["-C", root, ...TAR_FLAGS, "-cf", join(build, "rootfs.tar"), "."]);
    // Rename last so a crash never leaves a half-written tarball under the cached name.
    renameSync(join(build, "rootfs.tar"), BASE_TARBALL);
    return BASE_TARBALL;
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
}

/**
 * Drops what every node would replace anyway (debootstrap's .debs and lists, shared host keys and
 * machine ID) and the documentation: on this machine's disk creating a file costs about 0.5 ms, and
 * docs, man pages and translations are 40% of the base's 9,600 files (one node's copy: 6.0 s → 4.7 s).
 */
function slim(root: string): void {
  for (const docs of ["doc", "man", "info", "locale"]) emptyDir(join(root, "usr/share", docs), () => true);
  emptyDir(join(root, "var/cache/apt/archives"), (name) => name.endsWith(".deb"));
  emptyDir(join(root, "var/lib/apt/lists"), (name) => name !== "partial" && name !== "lock");
  emptyDir(join(root, "etc/ssh"), (name) => name.startsWith("ssh_host_"));
  writeFileSync(join(root, "etc/machine-id"), "");
}

function emptyDir(dir: string, remove: (name: string) => boolean): void {
  for (const name of readdirSync(dir).filter(remove)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** Unpacks the base rootfs into `root` (an empty or missing directory). */
export async function unpackBase(base: string, root: string): Promise<void> {
  mkdirSync(root, { recursive: true });
  await check("tar", ["-C", root, ...TAR_FLAGS, "-xpf", base]);
}

export interface NodeIdentity {
  name: string;
  publicKey: string;
}

/**
 * Gives a fresh copy of the base its own identity (hostname, machine ID, SSH host keys), the bed's
 * key for root, and apt sources that name only the bed's mirror.
 */
export async function prepareNodeRoot(base: string, root: string, node: NodeIdentity): Promise<void> {
  await unpackBase(base, root);
  writeRootFile(root, "etc/hostname", `${node.name}\n`);
  writeRootFile(root, "etc/hosts", `127.0.0.1\tlocalhost\n127.0.1.1\t${node.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  writeRootFile(root, "etc/machine-id", `${randomBytes(16).toString("hex")}\n`);
  // No name server: the bed has none, and an unreachable one would make every lookup hang until it times out.
  writeRootFile(root, "etc/resolv.conf", "# kubeplug test bed: no DNS; nodes reach only the bed's link\n");
  writeRootFile(root, "root/.ssh/authorized_keys", node.publicKey, 0o600);
  setAptSources(root);
  await check("ssh-keygen", ["-A", "-f", root]);
}

function setAptSources(root: string): void {
  rmSync(join(root, "etc/apt/sources.list"), { force: true });
  emptyDir(join(root, "etc/apt/sources.list.d"), () => true);
  writeRootFile(root, "etc/apt/sources.list.d/kubeplug-testbed.list", `deb [trusted=yes] ${MIRROR_URL}/debian ./\n`);
}

/**
 * Writes a file inside a rootfs. An existing entry is unlinked first because it may be a symlink
 * (resolv.conf often is) that would otherwise lead the write onto the host's own file.
 */
function writeRootFile(root: string, path: string, content: string, mode = 0o644): void {
  const file = join(root, path);
  // Only missing directories get this mode: root/.ssh, which sshd wants private.
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  rmSync(file, { force: true });
  writeFileSync(file, content, { mode });
}
