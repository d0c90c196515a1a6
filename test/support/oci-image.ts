/**
 * Container images for real tests, built offline from Debian's busybox-static: no registry is reachable here.
 * Built once per busybox version into a cache, as OCI archives that `ctr images import` reads (1.6 and 2.x).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CriClient } from "./cri/client";
import { debVersion, extractDeb, fetchDeb } from "./debs";

export const IMAGE_CACHE = process.env.KUBEPLUG_IMAGE_CACHE ?? "/var/cache/kubeplug-images";
/** A shell image: `sh` by default, with every busybox applet on PATH (`cat`, `sleep`, `ip`, `nc`, `wget`, ...). */
export const BUSYBOX_IMAGE = "registry.test/kubeplug/busybox:1";
/** A sandbox (pause) image: its entrypoint sleeps until the runtime kills it, which is all CRI asks of pause. */
export const PAUSE_IMAGE = "registry.test/kubeplug/pause:1";

/** Host tools that building and importing the images needs; for `missingTools`. */
export const IMAGE_TOOLS = ["umoci", "skopeo", "ctr", "apt-get", "dpkg-deb"];

const CRI_IMAGE_TIMEOUT_MS = 10_000;
// Bump when the image recipe changes, so cached archives are rebuilt.
const RECIPE = "1";

export interface ImageArchives {
  busybox: string;
  pause: string;
}

/** Paths of the two OCI archives (`oci-archive` tarballs with full reference names), building them on first use. */
export function imageArchives(): ImageArchives {
  const version = debVersion(fetchDeb("bookworm", "busybox-static")).replace(/[^A-Za-z0-9.+-]/g, "_");
  const dir = join(IMAGE_CACHE, `busybox-${version}-r${RECIPE}`);
  const archives = { busybox: join(dir, "busybox.tar"), pause: join(dir, "pause.tar") };
  if (existsSync(dir)) return archives;
  mkdirSync(IMAGE_CACHE, { recursive: true });
  const tmp = `${dir}.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    build(tmp);
    renameSync(tmp, dir);
  } catch (err) {
    // A parallel test file may have built the same images first; theirs are as good as ours.
    if (!existsSync(dir)) throw err;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return archives;
}

function build(dir: string): void {
  const busybox = join(extractDeb("bookworm", "busybox-static"), "bin/busybox");
  const rootfs = join(dir, "rootfs");
  const layout = join(dir, "layout");
  for (const d of ["bin", "etc", "root", "proc", "sys", "dev", "tmp"]) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, "tmp"), 0o1777);
  copyFileSync(busybox, join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  const applets = execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => a && a !== "busybox");
  for (const applet of applets) symlinkSync("busybox", join(rootfs, "bin", applet));
  // `id`, `whoami` and `ls -l` want names for the ids tests run as.
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");

  const umoci = (...args: string[]) => execFileSync("umoci", args, { stdio: ["ignore", "ignore", "inherit"] });
  umoci("init", "--layout", layout);
  umoci("new", "--image", `${layout}:base`);
  umoci("insert", "--image", `${layout}:base`, rootfs, "/");
  umoci("config", "--image", `${layout}:base`, "--tag", "busybox", "--config.env", "PATH=/bin", "--config.cmd", "sh");
  umoci("config", "--image", `${layout}:base`, "--tag", "pause", "--config.env", "PATH=/bin",
    "--config.entrypoint", "/bin/sleep", "--config.entrypoint", "infinity");
  for (const [tag, name] of [["busybox", BUSYBOX_IMAGE], ["pause", PAUSE_IMAGE]] as const) {
    execFileSync("skopeo", ["copy", "--quiet", `oci:${layout}:${tag}`, `oci-archive:${join(dir, `${tag}.tar`)}:${name}`], { stdio: ["ignore", "ignore", "inherit"] });
  }
  rmSync(rootfs, { recursive: true });
  rmSync(layout, { recursive: true });
}

/** Extra names for the images, e.g. the `sandbox_image` a rendered config asks for (`registry.k8s.io/pause:3.10`). */
export interface ImageTags {
  busybox?: string[];
  pause?: string[];
}

/**
 * Imports both images into containerd's `k8s.io` namespace (the one CRI uses), adds `tags` as further names, and
 * waits until CRI lists every name: its image store follows containerd's events, so a pod started right after
 * `ctr` returns could miss the sandbox image and try to pull it.
 * `ctr` should match the daemon's version; ctr 1.6 also talks to 2.x, but the daemon's own is the safer pick.
 */
export async function importImages(address: string, tags: ImageTags = {}, ctr = "ctr"): Promise<void> {
  const archives = imageArchives();
  const run = (...args: string[]) => execFileSync(ctr, ["--address", address, "--namespace", "k8s.io", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  const names: string[] = [];
  for (const [image, source] of [["busybox", BUSYBOX_IMAGE], ["pause", PAUSE_IMAGE]] as const) {
    run("images", "import", archives[image]);
    const extra = tags[image] ?? [];
    if (extra.length > 0) run("images", "tag", "--force", source, ...extra);
    names.push(source, ...extra);
  }
  const cri = new CriClient(address);
  try {
    const until = Date.now() + CRI_IMAGE_TIMEOUT_MS;
    for (;;) {
      const listed = new Set((await cri.listImages()).flatMap((i) => i.repoTags));
      const missing = names.filter((n) => !listed.has(n));
      if (missing.length === 0) return;
      if (Date.now() > until) throw new Error(`CRI on ${address} does not list imported images: ${missing.join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    cri.close();
  }
}
