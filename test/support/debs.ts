/**
 * Debian packages for real tests: fetched once into a cache with apt-get, never installed on the
 * test machine. Sid packages come through a private apt list so the machine's own sources stay as
 * they are (DESIGN.md §4).
 *
 *   tsx test/support/debs.ts sid containerd runsc     # prefetch, as .ci/run does
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type Suite = "bookworm" | "trixie" | "sid";

export const DEB_CACHE = process.env.KUBEPLUG_DEB_CACHE ?? "/var/cache/kubeplug-debs";
const MIRROR = "http://deb.debian.org/debian";

function suiteDir(suite: Suite): string {
  return join(DEB_CACHE, suite);
}

function aptOptions(suite: Suite): string[] {
  if (suite === "bookworm") return [];
  const dir = suiteDir(suite);
  return [
    "-o", `Dir::Etc::SourceList=${join(dir, "sources.list")}`,
    "-o", "Dir::Etc::SourceParts=/dev/null",
    "-o", `Dir::State::Lists=${join(dir, "lists")}`,
    "-o", `Dir::Cache=${join(dir, "cache")}`,
  ];
}

const updated = new Set<Suite>();

function ensureLists(suite: Suite): void {
  if (updated.has(suite)) return;
  const dir = suiteDir(suite);
  mkdirSync(join(dir, "debs"), { recursive: true });
  if (suite !== "bookworm") {
    mkdirSync(join(dir, "lists", "partial"), { recursive: true });
    mkdirSync(join(dir, "cache", "archives", "partial"), { recursive: true });
    writeFileSync(join(dir, "sources.list"), `deb ${MIRROR} ${suite} main\n`);
    const lists = readdirSync(join(dir, "lists")).filter((f) => f.includes("_Packages"));
    if (lists.length === 0) execFileSync("apt-get", [...aptOptions(suite), "-qq", "update"], { stdio: "inherit" });
  }
  updated.add(suite);
}

/** Path of the cached `.deb` of `pkg` (optionally `pkg=version`) from `suite`, downloading it on first use. */
export function fetchDeb(suite: Suite, pkg: string): string {
  const name = pkg.split("=")[0]!;
  const debs = join(suiteDir(suite), "debs");
  const cached = existsSync(debs) ? readdirSync(debs).find((f) => f.startsWith(`${name}_`) && f.endsWith(".deb")) : undefined;
  if (cached) return join(debs, cached);
  ensureLists(suite);
  const tmp = join(suiteDir(suite), `download-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync("apt-get", [...aptOptions(suite), "-o", "APT::Sandbox::User=root", "-qq", "download", pkg], { cwd: tmp, stdio: ["ignore", "ignore", "inherit"] });
    const file = readdirSync(tmp).find((f) => f.endsWith(".deb"));
    if (!file) throw new Error(`apt-get download ${pkg} (${suite}) produced no .deb`);
    renameSync(join(tmp, file), join(debs, file));
    return join(debs, file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A directory holding the unpacked contents of the package (as `dpkg-deb -x` lays them out). */
export function extractDeb(suite: Suite, pkg: string): string {
  const deb = fetchDeb(suite, pkg);
  const dir = deb.replace(/\.deb$/, ".root");
  if (!existsSync(dir)) {
    const tmp = `${dir}.${process.pid}`;
    execFileSync("dpkg-deb", ["-x", deb, tmp]);
    renameSync(tmp, dir);
  }
  return dir;
}

/** The version a cached `.deb` carries, read from its control data. */
export function debVersion(deb: string): string {
  return execFileSync("dpkg-deb", ["-f", deb, "Version"], { encoding: "utf8" }).trim();
}

if (require.main === module) {
  const [suite, ...pkgs] = process.argv.slice(2);
  if (!["bookworm", "trixie", "sid"].includes(suite ?? "") || pkgs.length === 0) {
    console.error("usage: tsx test/support/debs.ts bookworm|trixie|sid PKG...");
    process.exit(64);
  }
  for (const pkg of pkgs) console.log(fetchDeb(suite as Suite, pkg));
}
