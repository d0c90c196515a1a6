/**
 * What both tools download in the bench, served by the bed's mirror. Nothing outside Debian's and
 * npm's registries is reachable here, so the release files are STAND-INS with upstream's names and
 * layout, built from Debian's binaries or as scripts, each with its own sha256:
 *
 *   containerd  v1.6.20/containerd-1.6.20-linux-amd64.tar.gz  the bed's own stand-in (bin/ from Debian's containerd 1.6.20)
 *   runc        v1.1.5/runc.amd64                             Debian bookworm's runc 1.1.5 binary
 *   crictl      v1.36.0/crictl-v1.36.0-linux-amd64.tar.gz     a script: answers --version and `completion` (kubespray installs its output)
 *   nerdctl     v1.5.0/nerdctl-1.5.0-linux-amd64.tar.gz       a script: answers --version and `completion bash`; kubespray's role
 *                                                            installs nerdctl, kubeplug does not
 *
 * and a flat apt repository (`debian/`) of what a bed node lacks for python3-apt: Ansible needs
 * python3 on the node, and kubespray's package tasks python3-apt. The set is built once per key.
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { extractDeb, fetchDeb } from "../../test/support/debs";
import { containerdReleaseChecksums } from "../../test/e2e/testbed";
import { check } from "../../test/e2e/testbed/exec";
import { downloadForNodes, ensureMirrorStandins, indexFlatRepo } from "../../test/e2e/testbed/mirror";
import { ensureBaseTarball } from "../../test/e2e/testbed/rootfs";
import { MIRROR_URL } from "../../test/e2e/testbed/settings";

export const VERSIONS = { containerd: "1.6.20", runc: "1.1.5", crictl: "1.36.0", nerdctl: "1.5.0" } as const;
export type Artifact = keyof typeof VERSIONS;

/** Bump when a builder below changes in a way the key's inputs do not show. */
const REVISION = "1";
const NODE_PACKAGES = ["python3-apt"];
const TAR_FLAGS = ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-I", "gzip -n"];

const note = (what: string) => `# STAND-IN for ${what}, built by kubeplug's bench (bench/vs-kubespray/standins.ts); not the upstream binary.`;

/** A stand-in CLI: `--version` prints `version`, `completion …` prints a completion stub, anything else fails. */
function cliScript(name: string, version: string): string {
  return [
    "#!/bin/sh",
    note(`${name} ${version}`),
    "case \"${1:-}\" in",
    `  --version | -v | version) echo "${name} version v${version} (stand-in)" ;;`,
    `  completion) echo "# ${name} completion (stand-in)"; echo "complete -W version ${name}" ;;`,
    `  *) echo "${name} stand-in (kubeplug bench): unsupported: $*" >&2; exit 1 ;;`,
    "esac",
    "",
  ].join("\n");
}

export interface BenchArtifacts {
  /** Per artifact: the URL of the file on the bed's link, its sha256 (hex), and the base URL (upstream layout below it). */
  readonly files: Record<Artifact, { url: string; sha256: string; baseUrl: string }>;
  /** `deb [trusted=yes] <url> ./` for a node: python3-apt and what it needs. */
  readonly aptRepoUrl: string;
}

const RELATIVE: Record<Exclude<Artifact, "containerd">, string> = {
  runc: `runc/v${VERSIONS.runc}/runc.amd64`,
  crictl: `crictl/v${VERSIONS.crictl}/crictl-v${VERSIONS.crictl}-linux-amd64.tar.gz`,
  nerdctl: `nerdctl/v${VERSIONS.nerdctl}/nerdctl-${VERSIONS.nerdctl}-linux-amd64.tar.gz`,
};

export async function benchArtifacts(): Promise<BenchArtifacts> {
  const runcDeb = fetchDeb("bookworm", "runc");
  if (!basename(runcDeb).startsWith(`runc_${VERSIONS.runc}`)) throw new Error(`${basename(runcDeb)} is not runc ${VERSIONS.runc}`);
  const scripts = { crictl: cliScript("crictl", VERSIONS.crictl), nerdctl: cliScript("nerdctl", VERSIONS.nerdctl) };
  const key = createHash("sha256").update(JSON.stringify([REVISION, basename(runcDeb), scripts, NODE_PACKAGES])).digest("hex").slice(0, 12);
  const set = await ensureMirrorStandins("vs-kubespray", key, async (dir) => {
    put(join(dir, RELATIVE.runc), readFileSync(join(extractDeb("bookworm", "runc"), "usr", "sbin", "runc")), 0o755);
    await tarball(join(dir, RELATIVE.crictl), { crictl: scripts.crictl });
    // nerdctl's minimal release: nerdctl and the rootless helper scripts at the top.
    await tarball(join(dir, RELATIVE.nerdctl), {
      nerdctl: scripts.nerdctl,
      "containerd-rootless.sh": `#!/bin/sh\n${note("containerd-rootless.sh")}\nexit 1\n`,
      "containerd-rootless-setuptool.sh": `#!/bin/sh\n${note("containerd-rootless-setuptool.sh")}\nexit 1\n`,
    });
    const repo = join(dir, "debian");
    mkdirSync(repo);
    await downloadForNodes(await ensureBaseTarball(), join(dir, ".chroot"), repo, [NODE_PACKAGES]);
    await indexFlatRepo(repo);
  });
  const containerd = (await containerdReleaseChecksums())[VERSIONS.containerd];
  if (!containerd) throw new Error(`the bed's mirror has no containerd ${VERSIONS.containerd} release stand-in`);
  const containerdBase = `${MIRROR_URL}/releases/containerd`;
  const files = {
    containerd: { baseUrl: containerdBase, url: `${containerdBase}/v${VERSIONS.containerd}/containerd-${VERSIONS.containerd}-linux-amd64.tar.gz`, sha256: containerd.amd64.replace(/^sha256:/, "") },
  } as BenchArtifacts["files"];
  for (const [name, relative] of Object.entries(RELATIVE) as [Exclude<Artifact, "containerd">, string][]) {
    const sha256 = createHash("sha256").update(readFileSync(join(set.dir, relative))).digest("hex");
    files[name] = { baseUrl: `${set.url}/${name}`, url: `${set.url}/${relative}`, sha256 };
  }
  return { files, aptRepoUrl: `${set.url}/debian` };
}

function put(path: string, content: string | Buffer, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

async function tarball(file: string, members: Record<string, string>): Promise<void> {
  const stage = `${file}.stage`;
  for (const [name, content] of Object.entries(members)) put(join(stage, name), content, 0o755);
  mkdirSync(dirname(file), { recursive: true });
  await check("tar", ["-C", stage, ...TAR_FLAGS, "-cf", file, ...Object.keys(members).sort()]);
  rmSync(stage, { recursive: true });
}
