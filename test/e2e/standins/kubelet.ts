/**
 * Installs the STAND-IN kubelet (standins/kubelet/kubelet, with kubeadm's kubelet.service and
 * 10-kubeadm.conf) and the STAND-IN cri-dockerd (standins/cri-dockerd/) on a test bed node, and reads
 * back what the stand-in kubelet records: /var/lib/kubelet/standin-status.json and
 * /var/log/kubelet-standin.log. Files are written straight into the node's rootfs (node.rootDir);
 * systemd is then told over SSH.
 *
 *   await installKubeletStandin(bed, node, { kubeadmFlags: "--container-runtime-endpoint=unix:///run/crio/crio.sock" }, { start: true });
 *   (await kubeletStatus(node))?.containerRuntimeVersion   // "cri-o://1.36.3"
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { NodeStatusReport, StandinApiServer } from "../../support/standin-apiserver";
import type { Testbed, TestbedNode } from "../testbed";

const HERE = __dirname;
const UNIT_DIR = "usr/lib/systemd/system";
export const KUBELET_STATUS_FILE = "/var/lib/kubelet/standin-status.json";
export const KUBELET_LOG_FILE = "/var/log/kubelet-standin.log";
export const KUBELET_CONFIG_DIR = "/etc/kubernetes/kubelet.conf.d";
/** What kubeadm writes when the test gives no config.yaml: a KubeletConfiguration that sets no endpoint. */
export const DEFAULT_KUBELET_CONFIG = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n";

export interface KubeletStandinFiles {
  /** /etc/kubelet-standin/version, e.g. "1.34.2"; absent: the stand-in's default 1.35.0. */
  version?: string;
  /** /var/lib/kubelet/config.yaml; absent: DEFAULT_KUBELET_CONFIG (kubeadm always writes one). */
  configYaml?: string;
  /** KUBELET_KUBEADM_ARGS of /var/lib/kubelet/kubeadm-flags.env: the flags, or the whole `KUBELET_KUBEADM_ARGS=...` line. Absent: no file. */
  kubeadmFlags?: string;
  /** KUBELET_EXTRA_ARGS of /etc/default/kubelet: the flags, or the whole `KUBELET_EXTRA_ARGS=...` line. Absent: no file. */
  extraArgs?: string;
  /**
   * Drop-ins (file name → content) for /etc/kubernetes/kubelet.conf.d; given, a unit drop-in
   * 20-config-dir.conf adds `--config-dir=/etc/kubernetes/kubelet.conf.d` to KUBELET_CONFIG_ARGS.
   * Absent: no directory and no --config-dir.
   */
  configDir?: Record<string, string>;
}

export interface KubeletStandinStatus {
  running: boolean;
  pid: number;
  endpoint: string;
  imageEndpoint: string;
  cgroupDriver: string;
  /** As status.nodeInfo.containerRuntimeVersion: `containerd://2.1.9+unknown`, `cri-o://1.36.3`, `<name>://Unknown`. */
  containerRuntimeVersion: string;
  kubeletVersion: string;
  config: string;
  configDir: string;
  /** The daemon's argv, joined by spaces. */
  args: string;
  startedAt: string;
}

export interface KubeletEvent {
  ns: bigint;
  event: "start" | "stop" | "refused";
  detail: string;
}

function put(root: string, path: string, content: string | Buffer, mode = 0o644): void {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  // Unlink first: an existing entry may be a symlink that would lead the write out of the rootfs.
  rmSync(file, { force: true });
  writeFileSync(file, content, { mode });
}

const envLine = (name: string, value: string) => (value.startsWith(`${name}=`) ? `${value}\n` : `${name}="${value}"\n`);

async function onNode(bed: Testbed, node: TestbedNode, command: string): Promise<void> {
  const result = await bed.ssh(node, command);
  if (result.code !== 0) throw new Error(`${node.name}: ${command}: exit ${result.code}: ${result.stderr}`);
}

/**
 * Installs /usr/bin/kubelet (the stand-in), kubelet.service and 10-kubeadm.conf, and exactly the
 * given configuration: every place a file leaves out is removed, so a call describes the whole
 * configuration. The log and status files stay (tell runs apart by kubeletEvents). Then
 * `systemctl daemon-reload`; `enable` enables the unit; `start` (re)starts it, clearing a failed
 * state first, and returns without waiting for the stand-in to get anywhere.
 */
export async function installKubeletStandin(bed: Testbed, node: TestbedNode, files: KubeletStandinFiles, options: { enable?: boolean; start?: boolean } = {}): Promise<void> {
  const root = node.rootDir;
  put(root, "usr/bin/kubelet", readFileSync(join(HERE, "kubelet", "kubelet")), 0o755);
  put(root, `${UNIT_DIR}/kubelet.service`, readFileSync(join(HERE, "kubelet", "kubelet.service")));
  put(root, `${UNIT_DIR}/kubelet.service.d/10-kubeadm.conf`, readFileSync(join(HERE, "kubelet", "10-kubeadm.conf")));
  mkdirSync(join(root, "var/lib/kubelet"), { recursive: true, mode: 0o700 });
  mkdirSync(join(root, "etc/kubernetes/manifests"), { recursive: true });

  const optional: [string, string | undefined][] = [
    ["etc/kubelet-standin/version", files.version === undefined ? undefined : `${files.version}\n`],
    ["var/lib/kubelet/kubeadm-flags.env", files.kubeadmFlags === undefined ? undefined : envLine("KUBELET_KUBEADM_ARGS", files.kubeadmFlags)],
    ["etc/default/kubelet", files.extraArgs === undefined ? undefined : envLine("KUBELET_EXTRA_ARGS", files.extraArgs)],
  ];
  for (const [path, content] of optional) {
    if (content === undefined) rmSync(join(root, path), { force: true });
    else put(root, path, content);
  }
  put(root, "var/lib/kubelet/config.yaml", files.configYaml ?? DEFAULT_KUBELET_CONFIG);

  const dropIn = "etc/systemd/system/kubelet.service.d/20-config-dir.conf";
  rmSync(join(root, KUBELET_CONFIG_DIR), { recursive: true, force: true });
  rmSync(join(root, dropIn), { force: true });
  if (files.configDir !== undefined) {
    mkdirSync(join(root, KUBELET_CONFIG_DIR), { recursive: true });
    for (const [name, content] of Object.entries(files.configDir)) {
      if (name.includes("/")) throw new Error(`config-dir file name "${name}" has a slash`);
      put(root, join(KUBELET_CONFIG_DIR, name), content);
    }
    put(
      root,
      dropIn,
      `# kubeplug e2e (STAND-IN kubelet): the kubelet's --config-dir, after 10-kubeadm.conf's KUBELET_CONFIG_ARGS.\n[Service]\nEnvironment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml --config-dir=${KUBELET_CONFIG_DIR}"\n`,
    );
  }

  const steps = ["systemctl daemon-reload"];
  if (options.enable) steps.push("systemctl enable --quiet kubelet");
  if (options.start) steps.push("systemctl reset-failed kubelet 2>/dev/null || true", "systemctl restart kubelet");
  await onNode(bed, node, steps.join(" && "));
}

/**
 * Installs the cri-dockerd stand-in (/usr/bin/cri-dockerd, cri-docker.socket, cri-docker.service),
 * creates the docker group its socket names (Docker's packages would), and enables and starts the
 * socket, so /run/cri-dockerd.sock exists. The service itself starts only on a connection, and
 * needs a docker.service the node does not have.
 */
export async function installCriDockerdStandin(bed: Testbed, node: TestbedNode): Promise<void> {
  const root = node.rootDir;
  put(root, "usr/bin/cri-dockerd", readFileSync(join(HERE, "cri-dockerd", "cri-dockerd")), 0o755);
  for (const unit of ["cri-docker.socket", "cri-docker.service"]) put(root, `${UNIT_DIR}/${unit}`, readFileSync(join(HERE, "cri-dockerd", unit)));
  await onNode(bed, node, "(getent group docker >/dev/null || groupadd --system docker) && systemctl daemon-reload && systemctl enable --quiet --now cri-docker.socket");
}

/** The stand-in kubelet's last status, read from the node's rootfs; undefined before its first start. */
export async function kubeletStatus(node: TestbedNode): Promise<KubeletStandinStatus | undefined> {
  const file = join(node.rootDir, KUBELET_STATUS_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as KubeletStandinStatus;
}

/** Every event the stand-in kubelet logged on the node, oldest first. */
export function kubeletEvents(node: TestbedNode): KubeletEvent[] {
  const file = join(node.rootDir, KUBELET_LOG_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .flatMap((line) => {
      const match = /^(\d+) (start|stop|refused)(?: (.*))?$/.exec(line);
      return match ? [{ ns: BigInt(match[1]!), event: match[2] as KubeletEvent["event"], detail: match[3] ?? "" }] : [];
    });
}

/**
 * For the STAND-IN API server: each node's status as its stand-in kubelet last wrote it (not Ready
 * before the first start), as a real kubelet would report it.
 */
export function standinNodeStatus(bed: Testbed): (name: string) => NodeStatusReport {
  return (name) => {
    const file = join(bed.nodes.find((n) => n.name === name)!.rootDir, KUBELET_STATUS_FILE);
    const status = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as KubeletStandinStatus) : undefined;
    return { ready: status?.running ?? false, containerRuntimeVersion: status?.containerRuntimeVersion ?? "", kubeletVersion: status?.kubeletVersion ?? "v1.35.0" };
  };
}

/** The real kubectl and an admin.conf for the stand-in API server on every node, where the swap phases look for them by default. */
export function installKubectl(bed: Testbed, api: StandinApiServer): void {
  for (const node of bed.nodes) {
    mkdirSync(join(node.rootDir, "etc/kubernetes"), { recursive: true });
    copyFileSync("/usr/bin/kubectl", join(node.rootDir, "usr/bin/kubectl"));
    api.writeKubeconfig(join(node.rootDir, "etc/kubernetes/admin.conf"));
  }
}
