/**
 * kubespray's side: its own `container-engine/containerd` role (with the roles it depends on: runc,
 * crictl, nerdctl) from the anchor tarball, unpacked into a temporary directory at run time and never
 * kept, driven by Debian's ansible-playbook with kubespray's own ansible.cfg, the way its molecule
 * converge does (kubespray-defaults, then the role).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { check, run } from "../../test/e2e/testbed/exec";
import type { Testbed } from "../../test/e2e/testbed";
import { MIRROR } from "./kubeplug";
import { parseRecap, type HostRecap } from "./recap";
import { VERSIONS, type BenchArtifacts } from "./standins";

export const KUBESPRAY_VERSION = "2.23.3";
/** The anchor (../shared/anchors/README.md); KUBEPLUG_KUBESPRAY_TARBALL names another copy. */
export const KUBESPRAY_TARBALL = process.env.KUBEPLUG_KUBESPRAY_TARBALL ?? join(__dirname, "..", "..", "..", "shared", "anchors", `kubespray-v${KUBESPRAY_VERSION}.tar.gz`);

const PLAYBOOK = `# Written by kubeplug's bench (bench/vs-kubespray): kubespray's containerd role, as its molecule converge runs it.
- name: Containerd with a registry mirror
  hosts: k8s_cluster
  become: true
  vars:
    container_manager: containerd
  roles:
    - role: kubespray-defaults
    - role: container-engine/containerd
`;

/** Debian's ansible (ansible-core 2.14, which kubespray 2.23 supports); installed from apt when missing. */
export async function ensureAnsible(): Promise<string> {
  const have = () => run("ansible-playbook", ["--version"]).then((r) => (r.code === 0 ? r.stdout.split("\n")[0]! : undefined), () => undefined);
  const found = await have();
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error("ansible-playbook is missing: apt-get install --no-install-recommends ansible (Debian bookworm's ansible-core 2.14)");
  console.error("installing Debian's ansible (apt-get install --no-install-recommends ansible)");
  await check("apt-get", ["install", "-y", "-q", "--no-install-recommends", "ansible"]);
  const installed = await have();
  if (!installed) throw new Error("apt-get installed ansible, but ansible-playbook does not run");
  return installed;
}

export interface KubesprayTree {
  /** The unpacked kubespray source. */
  readonly dir: string;
}

/** Unpacks the anchor below `work` (a temporary directory the caller removes). */
export async function unpackKubespray(work: string): Promise<KubesprayTree> {
  if (!existsSync(KUBESPRAY_TARBALL)) throw new Error(`no kubespray anchor at ${KUBESPRAY_TARBALL} (set KUBEPLUG_KUBESPRAY_TARBALL)`);
  const target = join(work, "kubespray");
  mkdirSync(target);
  await check("tar", ["-C", target, "--strip-components=1", "-xzf", KUBESPRAY_TARBALL]);
  if (!existsSync(join(target, "roles", "container-engine", "containerd", "tasks", "main.yml"))) throw new Error(`${KUBESPRAY_TARBALL} has no roles/container-engine/containerd`);
  writeFileSync(join(target, "kubeplug-bench-containerd.yml"), PLAYBOOK);
  return { dir: target };
}

/** kubespray's variables for the same install as kubeplug's stack: the stand-ins' URLs and sha256, and the docker.io mirror. */
export function kubesprayVars(artifacts: BenchArtifacts): Record<string, unknown> {
  const { files } = artifacts;
  return {
    ansible_python_interpreter: "/usr/bin/python3",
    containerd_version: VERSIONS.containerd,
    containerd_download_url: files.containerd.url,
    containerd_archive_checksum: files.containerd.sha256,
    runc_version: `v${VERSIONS.runc}`,
    runc_download_url: files.runc.url,
    runc_binary_checksum: files.runc.sha256,
    crictl_version: `v${VERSIONS.crictl}`,
    crictl_download_url: files.crictl.url,
    crictl_binary_checksum: files.crictl.sha256,
    nerdctl_version: VERSIONS.nerdctl,
    nerdctl_download_url: files.nerdctl.url,
    nerdctl_archive_checksum: files.nerdctl.sha256,
    // hosts.toml under config_path, as kubeplug writes it; kubespray's default also puts the mirrors inline in config.toml.
    containerd_use_config_path: true,
    containerd_registries_mirrors: [{ prefix: "docker.io", mirrors: [{ host: MIRROR, capabilities: ["pull", "resolve"], skip_verify: false }] }],
  };
}

/** An inventory shaped like kubespray's sample: the first node is the control plane and etcd, every node a kube_node. */
export function inventory(bed: Testbed): string {
  const hosts = bed.nodes.map((node) => `${node.name} ansible_host=${node.address}`);
  return [
    "[all]",
    ...hosts,
    "[kube_control_plane]",
    bed.nodes[0]!.name,
    "[etcd]",
    bed.nodes[0]!.name,
    "[kube_node]",
    ...bed.nodes.map((node) => node.name),
    "[k8s_cluster:children]",
    "kube_control_plane",
    "kube_node",
    "[all:vars]",
    "ansible_user=root",
    `ansible_ssh_private_key_file=${bed.keyPath}`,
    "",
  ].join("\n");
}

export interface KubesprayRun {
  readonly ms: number;
  readonly recap: Record<string, HostRecap>;
}

export interface KubesprayBed {
  run(): Promise<KubesprayRun>;
  /** Ends the SSH control masters ansible left behind (ControlPersist), by their sockets. */
  close(): Promise<void>;
}

/**
 * Runs against one bed, with its own inventory, fact cache and SSH control sockets below `work`:
 * the first run gathers facts, later runs use the cache as kubespray's ansible.cfg configures it
 * (`gathering = smart`, jsonfile cache).
 */
export function kubesprayBed(tree: KubesprayTree, bed: Testbed, artifacts: BenchArtifacts, work: string): KubesprayBed {
  mkdirSync(work, { recursive: true });
  const controlDir = join(work, "cp");
  mkdirSync(controlDir);
  writeFileSync(join(work, "inventory.ini"), inventory(bed));
  writeFileSync(join(work, "vars.json"), JSON.stringify(kubesprayVars(artifacts), null, 2));
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: join(tree.dir, "ansible.cfg"),
    ANSIBLE_CACHE_PLUGIN_CONNECTION: join(work, "facts"),
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    ANSIBLE_LOCAL_TEMP: join(work, "tmp"),
    // kubespray's ansible.cfg means to say this (its `ansible_ssh_args` is no key ansible reads): the
    // bed's nodes get new host keys at every boot, which must not land in root's known_hosts.
    ANSIBLE_SSH_COMMON_ARGS: "-o UserKnownHostsFile=/dev/null",
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_FORCE_COLOR: "0",
  };
  return {
    async run() {
      const started = process.hrtime.bigint();
      const result = await run("ansible-playbook", ["-i", join(work, "inventory.ini"), "-e", `@${join(work, "vars.json")}`, "kubeplug-bench-containerd.yml"], { cwd: tree.dir, env });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const output = `${result.stdout}\n${result.stderr}`;
      if (result.code !== 0) throw new Error(`ansible-playbook exited with ${result.code}:\n${output.split("\n").slice(-60).join("\n")}`);
      return { ms, recap: parseRecap(result.stdout) };
    },
    async close() {
      for (const socket of readdirSync(controlDir)) {
        try {
          execFileSync("ssh", ["-o", `ControlPath=${join(controlDir, socket)}`, "-O", "exit", "kubeplug-bench"], { stdio: "ignore" });
        } catch {
          // A master that already timed out left no process behind.
        }
      }
    },
  };
}
