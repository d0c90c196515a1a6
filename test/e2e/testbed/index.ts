/**
 * A test bed of real booted Debian nodes: systemd-nspawn containers on a host bridge, reachable over
 * SSH as root, installing packages from a mirror the bed serves on the same link and reaching nothing
 * else (DESIGN.md §4).
 *
 *   const bed = await startTestbed({ nodes: testbedNodes(2) });
 *   await bed.ssh(bed.nodes[0]!, "systemctl is-system-running");
 *   await bed.stop();
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { createNodeCgroups } from "./cgroups";
import { check, run, tail, type RunResult } from "./exec";
import { ensureMirror, startMirrorServer, waitForMirror } from "./mirror";
import { addressNode, bridgeExists, createBridge } from "./network";
import { childPids, commandName, delay, isRunning, processRef, startDetached, type ProcessRef } from "./processes";
import { ensureBaseTarball, prepareNodeRoot } from "./rootfs";
import { BEDS_DIR, BRIDGE, HOST_ADDRESS, MIRROR_URL } from "./settings";
import { createBedState, destroyBed, destroyLeftovers, handOver, saveState, type BedState, type NodeState } from "./state";

export { containerdReleaseChecksums } from "./mirror";
export { destroyLeftovers } from "./state";
export { BRIDGE } from "./settings";

export interface TestbedNodeSpec {
  /** Hostname and nspawn machine name. */
  name: string;
  /** IPv4 address in 10.231.0.0/24, other than the host's 10.231.0.1. */
  address: string;
}

export interface TestbedOptions {
  nodes: TestbedNodeSpec[];
  /** Directory for node rootfs, key, logs and state.json; default /var/tmp/kubeplug-testbed/<run id>. */
  dir?: string;
  /** Leave the bed running when this process exits (`npm run testbed -- up`); default false. */
  keepAfterExit?: boolean;
}

export interface TestbedNode {
  name: string;
  address: string;
  rootDir: string;
  nspawnPid: number;
  /** The container's systemd, as the host sees it. */
  initPid: number;
}

export type SshResult = RunResult;

export interface Testbed {
  dir: string;
  nodes: TestbedNode[];
  /** The host's address on the bed's link: the only other machine nodes reach. */
  hostAddress: string;
  /** Private ed25519 key that root on every node accepts. */
  keyPath: string;
  /**
   * `kubeplug:cluster.ssh` for a stack on this bed: root with the bed's key. The nodes make new host
   * keys at every boot, so nothing can pin them and the stack opts out of the host key check.
   */
  stackSsh: { user: "root"; privateKeyPath: string; insecureSkipHostKeyCheck: true };
  /** Base URL of the bed's mirror: `/debian` (flat apt repo, the nodes' only source) and `/releases`. */
  mirrorUrl: string;
  mirrorPid: number;
  /** Runs a shell command as root on a node (by object or name); a non-zero exit is a result, not an error. */
  ssh(node: TestbedNode | string, command: string, options?: { input?: string }): Promise<SshResult>;
  /** Shuts the nodes down, stops the mirror, deletes the bridge and the bed directory. Safe to call twice. */
  stop(): Promise<void>;
}

const REQUIRED_TOOLS = ["debootstrap", "systemd-nspawn", "nsenter", "ip", "ssh", "ssh-keygen", "dpkg-scanpackages", "dpkg-deb", "chroot", "tar"];
const IN_CGROUPS = join(__dirname, "in-cgroups.sh");
// Boot takes a few seconds; the margin is for a loaded CI machine.
const BOOT_TIMEOUT_MS = 120_000;

/** Why beds cannot run here, or undefined when they can; for `describe.skipIf`. */
export function testbedUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return `needs Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return `needs root (running as uid ${process.getuid?.()})`;
  const missing = REQUIRED_TOOLS.filter((tool) => !onPath(tool));
  if (missing.length > 0) {
    return `missing ${missing.join(", ")} (apt-get install debootstrap systemd-container util-linux iproute2 openssh-client dpkg-dev)`;
  }
  return undefined;
}

function onPath(tool: string): boolean {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"];
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const BRIDGE_POLL_MS = 5_000;
const BRIDGE_WAIT_MS = 10 * 60_000;

/**
 * Beds share the bridge, so one runs at a time: waits (polling every 5 s, up to 10 minutes) while
 * another process's bed holds it, e.g. a containerd e2e run. A bed whose starter is gone holds it
 * for nobody and is removed at each poll: waiting on it would only time out (every e2e file of a CI
 * run once did, on a machine a killed session had left a bridge on).
 */
export async function waitForFreeBridge(): Promise<void> {
  const deadline = Date.now() + BRIDGE_WAIT_MS;
  for (;;) {
    for (const dir of destroyLeftovers()) console.warn(`kubeplug test bed: removed leftover bed ${dir}`);
    if (!bridgeExists()) return;
    if (Date.now() > deadline) throw new Error(`${BRIDGE} still exists after ${BRIDGE_WAIT_MS / 60_000} minutes: another test bed is running`);
    await delay(BRIDGE_POLL_MS);
  }
}

/** node1, node2, … at 10.231.0.11, .12, …: the names and addresses stacks/Pulumi.dev.yaml uses. */
export function testbedNodes(count: number): TestbedNodeSpec[] {
  return Array.from({ length: count }, (_, i) => ({ name: `node${i + 1}`, address: `10.231.0.${11 + i}` }));
}

/**
 * Boots the nodes and returns once root logs in on each and systemd has finished booting. First removes
 * any bed whose starter is gone, one kept by `npm run testbed -- up` included: beds share the bridge.
 */
export async function startTestbed(options: TestbedOptions): Promise<Testbed> {
  const unavailable = testbedUnavailableReason();
  if (unavailable) throw new Error(`cannot start a test bed: ${unavailable}`);
  checkNodeSpecs(options.nodes);
  const base = await ensureBaseTarball();
  const mirror = await ensureMirror();
  // A run that was killed (CI ends whatever a session left running) leaves its bridge and directories.
  for (const dir of destroyLeftovers()) console.warn(`kubeplug test bed: removed leftover bed ${dir}`);
  if (bridgeExists()) {
    throw new Error(`${BRIDGE} exists: another process runs a test bed (see ${BEDS_DIR}/*/state.json)`);
  }
  const state = createBedState(runId(), options.dir);
  try {
    const keyPath = await createKey(state.dir);
    await boot(state, options.nodes, base, mirror, keyPath);
    if (options.keepAfterExit) handOver(state);
    return testbed(state, keyPath);
  } catch (error) {
    destroyBed(state);
    throw error;
  }
}

function checkNodeSpecs(nodes: TestbedNodeSpec[]): void {
  const problems: string[] = [];
  if (nodes.length === 0) problems.push("no nodes");
  nodes.forEach((node, i) => {
    if (!/^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$/.test(node.name)) problems.push(`nodes[${i}].name "${node.name}" is not a short lowercase hostname`);
    const host = /^10\.231\.0\.(\d{1,3})$/.exec(node.address)?.[1];
    if (host === undefined || Number(host) < 2 || Number(host) > 254) problems.push(`nodes[${i}].address "${node.address}" is not in 10.231.0.2-254`);
  });
  for (const key of ["name", "address"] as const) {
    const values = nodes.map((node) => node[key]);
    const repeated = values.filter((value, i) => values.indexOf(value) !== i);
    if (repeated.length > 0) problems.push(`${key}s repeat: ${[...new Set(repeated)].join(", ")}`);
  }
  if (problems.length > 0) throw new Error(`invalid test bed nodes: ${problems.join("; ")}`);
}

function runId(): string {
  return `${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}-${process.pid}`;
}

async function createKey(dir: string): Promise<string> {
  const keyPath = join(dir, "id_ed25519");
  await check("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kubeplug-testbed", "-f", keyPath]);
  return keyPath;
}

async function boot(state: BedState, specs: TestbedNodeSpec[], base: string, mirror: string, keyPath: string): Promise<void> {
  const publicKey = readFileSync(`${keyPath}.pub`, "utf8");
  state.nodes = specs.map((spec) => ({ ...spec, rootDir: join(state.dir, spec.name) }));
  saveState(state);
  await all([...state.nodes.map((node) => prepareNodeRoot(base, node.rootDir, { name: node.name, publicKey })), serveMirror(state, mirror)]);
  await all(state.nodes.map((node) => startNode(state, node)));
  await all(state.nodes.map((node) => waitReady(state, node, keyPath)));
}

/** Like Promise.all, but settles every task before failing, so the cleanup that follows races none of them. */
async function all(tasks: Promise<unknown>[]): Promise<void> {
  const failure = (await Promise.allSettled(tasks)).find((result) => result.status === "rejected");
  if (failure) throw failure.reason;
}

/** The bridge and, on it, the mirror: all a node needs from the host once it boots. */
async function serveMirror(state: BedState, mirror: string): Promise<void> {
  createBridge();
  state.bridge = true;
  saveState(state);
  const log = join(state.dir, "mirror.log");
  state.mirror = startMirrorServer(mirror, log);
  saveState(state);
  await waitForMirror(state.mirror, log);
}

async function startNode(state: BedState, node: NodeState): Promise<void> {
  const args = [
    "--register=no",
    "--keep-unit",
    "--boot",
    `--directory=${node.rootDir}`,
    `--machine=${node.name}`,
    `--network-bridge=${BRIDGE}`,
    // The node's boot messages go to its log file.
    "--console=read-only",
    // Keep the rootfs's own resolv.conf (no DNS) and stay out of the host's journal directory.
    "--resolv-conf=off",
    "--link-journal=no",
  ];
  node.cgroups = createNodeCgroups(state.id, node.name);
  saveState(state);
  node.nspawn = startDetached("sh", [IN_CGROUPS, ...node.cgroups, "--", "systemd-nspawn", ...args], consoleLog(state, node));
  saveState(state);
  node.init = await waitForInit(node.nspawn, consoleLog(state, node));
  saveState(state);
  await addressNode(node.init.pid, node.address);
}

const consoleLog = (state: BedState, node: NodeState) => join(state.dir, `${node.name}.log`);

/** The container's init: the child of nspawn once it has executed systemd. */
async function waitForInit(nspawn: ProcessRef, log: string): Promise<ProcessRef> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const init = childPids(nspawn.pid).find((pid) => commandName(pid) === "systemd");
    const ref = init === undefined ? undefined : processRef(init);
    if (ref) return ref;
    if (!isRunning(nspawn) || Date.now() > deadline) throw new Error(`systemd-nspawn did not boot a container:\n${tail(readLog(log))}`);
    await delay(50);
  }
}

/** Waits until root logs in over SSH and systemd has finished starting units. */
async function waitReady(state: BedState, node: NodeState, keyPath: string): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  for (;;) {
    const result = await ssh(keyPath, node.address, "true");
    if (result.code === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`${node.name} (${node.address}) does not answer SSH: ${result.stderr.trim()}\n${tail(readLog(consoleLog(state, node)))}`);
    }
    await delay(250);
  }
  const result = await ssh(keyPath, node.address, `timeout ${BOOT_TIMEOUT_MS / 1000} systemctl is-system-running --wait`);
  const status = result.stdout.trim();
  // degraded: some unit failed, as on many real hosts; the tests that care look at their own units.
  if (status !== "running" && status !== "degraded") throw new Error(`${node.name}: systemd did not finish booting (${status || result.stderr.trim()})`);
}

function readLog(file: string): string {
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

function ssh(keyPath: string, address: string, command: string, input?: string): Promise<SshResult> {
  const options = {
    IdentitiesOnly: "yes",
    // Nodes are new each run, with new host keys at known addresses: nothing to verify them against.
    StrictHostKeyChecking: "no",
    UserKnownHostsFile: "/dev/null",
    LogLevel: "ERROR",
    BatchMode: "yes",
    ConnectTimeout: "5",
  };
  const args = Object.entries(options).flatMap(([key, value]) => ["-o", `${key}=${value}`]);
  return run("ssh", ["-i", keyPath, ...args, `root@${address}`, command], { input });
}

function testbed(state: BedState, keyPath: string): Testbed {
  const nodes: TestbedNode[] = state.nodes.map((node) => ({
    name: node.name,
    address: node.address,
    rootDir: node.rootDir,
    nspawnPid: node.nspawn!.pid,
    initPid: node.init!.pid,
  }));
  const addressOf = (node: TestbedNode | string): string => {
    if (typeof node !== "string") return node.address;
    const found = nodes.find((n) => n.name === node);
    if (!found) throw new Error(`no node ${node} in this test bed`);
    return found.address;
  };
  let stopped: Promise<void> | undefined;
  return {
    stackSsh: { user: "root", privateKeyPath: keyPath, insecureSkipHostKeyCheck: true },
    dir: state.dir,
    nodes,
    hostAddress: HOST_ADDRESS,
    keyPath,
    mirrorUrl: MIRROR_URL,
    mirrorPid: state.mirror!.pid,
    ssh: (node, command, options = {}) => ssh(keyPath, addressOf(node), command, options.input),
    stop: () => (stopped ??= stop(state)),
  };
}

async function stop(state: BedState): Promise<void> {
  const pids = [state.mirror, ...state.nodes.map((node) => node.nspawn)].flatMap((ref) => (ref ? [ref.pid] : []));
  destroyBed(state);
  // destroyBed waits until the processes have finished; our own children stay as zombies until Node's
  // event loop reaps them, which is what callers checking /proc would otherwise see.
  const deadline = Date.now() + 2_000;
  while (pids.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) await delay(20);
}
