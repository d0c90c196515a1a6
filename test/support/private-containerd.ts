/**
 * A containerd of its own for one test: runs the config kubeplug rendered, with only the paths that would clash
 * with the host (root, state, sockets, CNI dirs) moved into the test's work dir, in a network namespace of its
 * own. Everything it starts is found and ended by PID, and its mounts are undone, even after a crash.
 */
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse, stringify, type TomlTable } from "smol-toml";
import { CriClient } from "./cri/client";
import { mountsUnder, readMounts, unmount } from "./mounts";
import { descendantsOf, isRunning, killAll, listProcesses, netnsOf, waitGone } from "./procs";

const run = promisify(execFile);

/** Host tools a private containerd needs besides the containerd binaries themselves; for `missingTools`. */
/**
 * A one-bridge network for pods of a private containerd: host-local on `${subnetPrefix}0/24`.
 * host-local keeps its reservations in /var/lib/cni/networks/<name>, as on a node (so tests see a stop
 * release them); a name per process keeps parallel runs apart.
 */
export function bridgeNetwork(label: string, bridge: string, subnetPrefix: string): { name: string; conflists: Record<string, string>; reservations: string } {
  const name = `${label}-${process.pid}`;
  const conflist = {
    cniVersion: "1.0.0",
    name,
    plugins: [{ type: "bridge", bridge, isGateway: true, ipMasq: false, ipam: { type: "host-local", ranges: [[{ subnet: `${subnetPrefix}0/24` }]] } }],
  };
  return { name, conflists: { [`10-${label}.conflist`]: JSON.stringify(conflist) }, reservations: join("/var/lib/cni/networks", name) };
}

export const PRIVATE_CONTAINERD_TOOLS = ["runc", "unshare", "ip", "umount"];
// libcni's cache and host-local's default data dir; containerd does not move them with its own state.
const CNI_CACHE_DIR = "/var/lib/cni";
// A cold start takes well under a second; the margin is for a loaded CI machine.
const START_TIMEOUT_MS = 30_000;

export interface PrivateContainerdOptions {
  /** A complete containerd config (version 2 or 3), e.g. as kubeplug rendered it. */
  configToml: string;
  /** Directory with `containerd`, its shims and `ctr`; it goes first on containerd's PATH so its own shims win. */
  binDir?: string;
  /** Owned by the caller, who removes it; keep it short, the socket path must fit in 107 bytes. */
  workDir: string;
  /** CNI plugin binaries; default Debian's `/usr/lib/cni`. */
  cniBinDir?: string;
  /** Files to write into the CNI conf dir, by file name (`10-test.conflist`: JSON). */
  cniConflists?: Record<string, string>;
  /**
   * A network namespace to run in (`/proc/<pid>/ns/net` of a process the caller holds), e.g. one where test
   * registries listen; default: a new one of containerd's own, with `lo` up.
   */
  netns?: string;
}

export interface PrivateContainerd {
  /** The grpc socket path (no `unix://`), for `CriClient` and `ctr --address`. */
  address: string;
  /** As given; holds the config copy and `containerd.log`, which stop() leaves for a look after a failure. */
  workDir: string;
  pid: number;
  /** The `ctr` that matches the daemon. */
  ctr: string;
  configPath: string;
  logPath: string;
  cniConfDir: string;
  /**
   * The network namespace containerd runs in, its own unless `netns` was given: CNI bridges, veths, routes and iptables rules land there
   * and vanish with it, and host-network pods share it. Reach pod IPs with `nsenter --net=<netns>`.
   */
  netns: string;
  /** Stops everything this containerd started, undoes its mounts and removes its root and state. Idempotent. */
  stop(): Promise<void>;
}

interface Paths {
  root: string;
  state: string;
  address: string;
  opt: string;
  nriSocket: string;
  cniBinDir: string;
  cniConfDir: string;
}

type Table = Record<string, unknown>;
const table = (parent: Table, key: string): Table => (parent[key] ??= {}) as Table;

/** The table holding the CRI `cni` settings for a config version. */
function criRuntimeTable(plugins: Table, version: 2 | 3): Table {
  return table(plugins, version === 2 ? "io.containerd.grpc.v1.cri" : "io.containerd.cri.v1.runtime");
}

function configVersion(config: TomlTable): 2 | 3 {
  const version = config.version;
  if (version === 2 || version === 3) return version;
  throw new Error(`private containerd supports config version 2 and 3, got version = ${String(version)}`);
}

const CAP_SYS_RESOURCE = 24n;

/** Whether this process may lower an oom_score_adj, which CRI does for every pod sandbox (-998). */
function canLowerOomScore(): boolean {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  return ((BigInt(`0x${capEff}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
}

/**
 * The config with the host-clashing paths replaced, everything else as given. Beyond root, state, sockets and CNI
 * dirs, two defaults kubeplug does not render move into the work dir too: the `opt` plugin's /opt/containerd and
 * the NRI socket (on by default in 2.x), which parallel daemons would otherwise share on the machine.
 * Without CAP_SYS_RESOURCE (as in some sandboxes) runc cannot start any pod unless `restrict_oom_score_adj` is set.
 */
function rewriteConfig(configToml: string, paths: Paths): string {
  const config = parse(configToml);
  const version = configVersion(config);
  config.root = paths.root;
  config.state = paths.state;
  table(config, "grpc").address = paths.address;
  table(config, "ttrpc").address = `${paths.address}.ttrpc`;
  const plugins = table(config, "plugins");
  table(plugins, "io.containerd.internal.v1.opt").path = paths.opt;
  table(plugins, "io.containerd.nri.v1.nri").socket_path = paths.nriSocket;
  const criRuntime = criRuntimeTable(plugins, version);
  if (!canLowerOomScore()) criRuntime.restrict_oom_score_adj = true;
  const cni = table(criRuntime, "cni");
  cni.conf_dir = paths.cniConfDir;
  // 2.1 replaced `bin_dir` by `bin_dirs` and rejects both at once: keep the key the config uses.
  if ("bin_dirs" in cni || (version === 3 && !("bin_dir" in cni))) cni.bin_dirs = [paths.cniBinDir];
  else cni.bin_dir = paths.cniBinDir;
  return stringify(config);
}

/** The sandbox (pause) image a config names, or undefined when it relies on containerd's default. */
export function sandboxImageOf(configToml: string): string | undefined {
  const config = parse(configToml);
  const plugins = (config.plugins ?? {}) as Table;
  const image = configVersion(config) === 2
    ? (plugins["io.containerd.grpc.v1.cri"] as Table | undefined)?.sandbox_image
    : ((plugins["io.containerd.cri.v1.images"] as Table | undefined)?.pinned_images as Table | undefined)?.sandbox;
  return typeof image === "string" ? image : undefined;
}

/** containerd shims serving `address` (they carry it as `-address`), with every process below them. */
export function shimProcesses(address: string): { shims: number[]; descendants: number[] } {
  const procs = listProcesses();
  const shims = procs
    .filter((p) => /(^|\/)containerd-shim/.test(p.argv[0] ?? "") && p.argv[p.argv.indexOf("-address") + 1] === address)
    .map((p) => p.pid);
  return { shims, descendants: descendantsOf(shims, procs) };
}

async function criPluginStatus(ctr: string, address: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(ctr, ["--address", address, "plugins", "ls"], { timeout: 5000 });
    const line = stdout.split("\n").find((l) => /^io\.containerd\.grpc\.v1\s+cri\s/.test(l));
    return line?.trim().split(/\s+/).pop();
  } catch {
    return undefined; // socket not there yet
  }
}

export async function startPrivateContainerd(options: PrivateContainerdOptions): Promise<PrivateContainerd> {
  const { workDir, binDir = "/usr/bin" } = options;
  const paths: Paths = {
    root: join(workDir, "root"),
    state: join(workDir, "state"),
    address: join(workDir, "containerd.sock"),
    opt: join(workDir, "opt"),
    nriSocket: join(workDir, "nri.sock"),
    cniBinDir: options.cniBinDir ?? "/usr/lib/cni",
    cniConfDir: join(workDir, "net.d"),
  };
  mkdirSync(paths.cniConfDir, { recursive: true });
  for (const [name, content] of Object.entries(options.cniConflists ?? {})) writeFileSync(join(paths.cniConfDir, name), content);
  const configPath = join(workDir, "config.toml");
  writeFileSync(configPath, rewriteConfig(options.configToml, paths));
  const logPath = join(workDir, "containerd.log");
  const ctr = existsSync(join(binDir, "ctr")) ? join(binDir, "ctr") : "ctr";

  const containerd = [join(binDir, "containerd"), "--config", configPath];
  // unshare, nsenter and sh all exec, so the PID spawned is containerd's own; lo must be up for the CRI stream server.
  const argv = options.netns
    ? ["nsenter", `--net=${options.netns}`, "--", ...containerd]
    : ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', ...containerd];
  const log = openSync(logPath, "a");
  const env = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` };
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", log, log], env });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${containerd[0]}`);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => { exited = true; resolve(); }));

  let ready = false;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // A killed containerd is a zombie until Node handles its exit; asking it to remove pods would only fail.
    if (ready && !exited && isRunning(pid)) await removePods(paths.address);
    child.kill("SIGTERM");
    await Promise.race([exit, new Promise((r) => setTimeout(r, 10_000))]);
    if (!exited) {
      child.kill("SIGKILL");
      await exit;
    }
    await endShims(paths.address, paths.state, env);
    const ours = () => [...mountsUnder(paths.root), ...mountsUnder(paths.state)];
    unmount(ours());
    // Deleting through a live mount would delete the mounted files; refuse rather than guess.
    if (ours().length > 0) throw new Error(`mounts left under ${workDir}: ${ours().join(", ")}`);
    for (const p of [paths.root, paths.state, paths.opt, paths.nriSocket, paths.address, `${paths.address}.ttrpc`]) rmSync(p, { recursive: true, force: true });
  };

  const handle: PrivateContainerd = {
    address: paths.address, workDir, pid, ctr, configPath, logPath, cniConfDir: paths.cniConfDir, netns: options.netns ?? `/proc/${pid}/ns/net`, stop,
  };
  try {
    await waitForCri(handle, () => exited, START_TIMEOUT_MS);
    ready = true;
  } catch (err) {
    await stop();
    throw err;
  }
  return handle;
}

async function waitForCri(c: PrivateContainerd, exited: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`containerd exited during start-up:\n${logTail(c.logPath)}`);
    // ctr waits seconds for a socket that is not there, so poll the file first.
    const status = existsSync(c.address) ? await criPluginStatus(c.ctr, c.address) : undefined;
    if (status === "ok") return;
    if (status !== undefined) throw new Error(`containerd cri plugin is "${status}":\n${logTail(c.logPath)}`);
    if (Date.now() > until) throw new Error(`containerd not ready after ${timeoutMs} ms:\n${logTail(c.logPath)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The log without its `info` lines, hundreds at start-up. What is left says why: a failed plugin is a warning,
 * and a config containerd cannot decode is a bare line without a level.
 */
function logTail(logPath: string, count = 30): string {
  const lines = readFileSync(logPath, "utf8").trimEnd().split("\n");
  return lines.filter((l) => !/level=(info|debug|trace)/.test(l)).slice(-count).join("\n");
}

/** Stops and removes every pod the way kubelet would, so containerd itself releases netns, CNI and cgroups. */
async function removePods(address: string): Promise<void> {
  const cri = new CriClient(address, 30_000);
  try {
    for (const pod of await cri.listPodSandbox()) {
      await cri.stopPodSandbox(pod.id);
      await cri.removePodSandbox(pod.id);
    }
  } catch (err) {
    // The forced clean-up that follows still ends everything; say why the clean one did not.
    console.warn(`private containerd ${address}: removing pods failed, killing shims instead: ${(err as Error).message}`);
  } finally {
    cri.close();
  }
}

/**
 * Ends shims that outlived containerd (a crash, or a pod removal that failed) with their containers, then undoes
 * what containerd would have on a clean delete: the runtime's state and cgroups (`runc delete --force`, using the
 * binary and root the task was created with), the shim sockets kept outside the state dir, and the pod network
 * namespaces only those containers used.
 */
async function endShims(address: string, state: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { shims, descendants } = shimProcesses(address);
  const hostNetns = netnsOf("self");
  const podNetns = new Set(descendants.map(netnsOf).filter((ns) => ns !== undefined && ns !== hostNetns));
  // Containers first, while their shim still reaps them: with the shim gone, a pod's pid-namespace init cannot
  // finish exiting until the machine's PID 1 reaps the shim, which here takes over a second.
  killAll(descendants, "SIGKILL");
  await waitGone(descendants, 10_000);
  killAll(shims, "SIGKILL");
  await waitGone(shims, 10_000);
  const tasks = leftoverTasks(state);
  for (const task of tasks) {
    // Best effort: a runtime that is not runc-compatible may refuse, and then only its state files stay.
    await run(task.runtime, ["--root", task.runtimeRoot, "delete", "--force", task.id], { env }).catch(() => undefined);
    if (task.shimSocket) rmSync(task.shimSocket, { force: true });
  }
  forgetCniState(tasks.map((t) => t.id));
  const netnsMounts = readMounts().filter((m) => m.fsType === "nsfs" && podNetns.has(m.root)).map((m) => m.mountPoint);
  unmount(netnsMounts);
  for (const p of netnsMounts) rmSync(p, { force: true });
}

/**
 * What a CNI DEL would have removed for these sandboxes from libcni's default cache dir: cached results
 * (`<network>-<sandbox id>-<ifname>`) and host-local IP reservations (files whose first line is the sandbox id).
 */
function forgetCniState(ids: string[]): void {
  const results = join(CNI_CACHE_DIR, "results");
  const networks = join(CNI_CACHE_DIR, "networks");
  const ours = (name: string) => ids.some((id) => name.includes(`-${id}-`));
  if (existsSync(results)) for (const f of readdirSync(results).filter(ours)) rmSync(join(results, f), { force: true });
  if (!existsSync(networks)) return;
  for (const net of readdirSync(networks)) {
    for (const f of readdirSync(join(networks, net))) {
      const owner = readFileSync(join(networks, net, f), "utf8").split("\n")[0]!.trim();
      if (ids.includes(owner)) rmSync(join(networks, net, f), { force: true });
    }
  }
}

interface LeftoverTask {
  id: string;
  runtime: string;
  runtimeRoot: string;
  shimSocket: string | undefined;
}

/** Tasks whose bundles are still in the state dir; the runc shim's defaults apply where options.json is silent. */
function leftoverTasks(state: string): LeftoverTask[] {
  const tasksDir = join(state, "io.containerd.runtime.v2.task");
  if (!existsSync(tasksDir)) return [];
  return readdirSync(tasksDir).flatMap((ns) => readdirSync(join(tasksDir, ns)).map((id) => {
    const bundle = join(tasksDir, ns, id);
    const read = (f: string) => (existsSync(join(bundle, f)) ? readFileSync(join(bundle, f), "utf8").trim() : undefined);
    const options = JSON.parse(read("options.json") || "{}") as { binary_name?: string; root?: string };
    // 1.x writes the shim address as text, 2.x inside bootstrap.json.
    const shimAddress = read("address") ?? (JSON.parse(read("bootstrap.json") ?? "{}") as { address?: string }).address;
    return {
      id,
      runtime: options.binary_name || "runc",
      runtimeRoot: join(options.root || "/run/containerd/runc", ns),
      shimSocket: shimAddress?.replace(/^unix:\/\//, ""),
    };
  }));
}
