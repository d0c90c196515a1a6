import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeNodeCgroups } from "./cgroups";
import { killCommands } from "./exec";
import { deleteBridge } from "./network";
import { isRunning, processRef, signalAll, terminate, waitGone, type ProcessRef } from "./processes";
import { BEDS_DIR } from "./settings";

export interface NodeState {
  name: string;
  address: string;
  rootDir: string;
  /** See cgroups.ts: the node's own cgroups, which nspawn starts in. */
  cgroups?: string[];
  nspawn?: ProcessRef;
  init?: ProcessRef;
}

/**
 * Everything a bed started, written to `<dir>/state.json` after each step, so whoever finds it later
 * (an exit handler, the next run, `npm run testbed -- down`) can undo exactly that.
 */
export interface BedState {
  id: string;
  dir: string;
  /** The process that stops the bed; null once the bed is kept for manual use after its starter exited. */
  owner: ProcessRef | null;
  /** The BEDS_DIR entry pointing at a bed kept elsewhere, so leftovers are found in one place. */
  link?: string;
  bridge: boolean;
  mirror?: ProcessRef;
  nodes: NodeState[];
}

// systemd inside a node shuts down in about 1.5 s here; the margin covers units that are slow to stop.
const SHUTDOWN_GRACE_MS = 20_000;
const live = new Set<BedState>();

export function createBedState(runId: string, dir = join(BEDS_DIR, runId)): BedState {
  mkdirSync(BEDS_DIR, { recursive: true });
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).length > 0) throw new Error(`test bed directory ${dir} is not empty`);
  const state: BedState = { id: runId, dir, owner: processRef(process.pid)!, bridge: false, nodes: [] };
  if (dir !== join(BEDS_DIR, runId)) {
    state.link = join(BEDS_DIR, runId);
    symlinkSync(dir, state.link);
  }
  saveState(state);
  live.add(state);
  installExitHandlers();
  return state;
}

export function saveState(state: BedState): void {
  const file = join(state.dir, "state.json");
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

function readState(dir: string): BedState | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as BedState;
  } catch {
    return undefined;
  }
}

/** Leaves the bed running after this process exits; `destroyLeftovers` removes it later. */
export function handOver(state: BedState): void {
  state.owner = null;
  saveState(state);
  live.delete(state);
}

/** Stops and removes everything the state names. Blocking, so it also works from an 'exit' handler. */
export function destroyBed(state: BedState): void {
  stopContainers(state.nodes);
  if (state.mirror) terminate([state.mirror], 5_000);
  if (state.bridge) deleteBridge();
  removeBedDir(state.dir);
  if (state.link) rmSync(state.link, { force: true });
  // Last: it fails only if a process survived SIGKILL, and then everything else should be gone already.
  for (const node of state.nodes) removeNodeCgroups(node.cgroups ?? []);
  live.delete(state);
}

function stopContainers(nodes: NodeState[]): void {
  const nspawns = nodes.flatMap((node) => (node.nspawn ? [node.nspawn] : []));
  // nspawn turns SIGTERM into an orderly shutdown of the container's systemd.
  signalAll(nspawns, "SIGTERM");
  const stuck = waitGone(nspawns, SHUTDOWN_GRACE_MS);
  // A killed or crashed nspawn leaves its container running; killing the container's init ends its whole PID namespace.
  const rest = [...stuck, ...nodes.flatMap((node) => (node.init && isRunning(node.init) ? [node.init] : []))];
  signalAll(rest, "SIGKILL");
  waitGone(rest, 5_000);
}

/** Deletes a bed directory, unless something is mounted below it: a recursive delete would go through the mount. */
function removeBedDir(dir: string): void {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((mountPoint) => mountPoint?.startsWith(`${dir}/`));
  if (mounts.length > 0) throw new Error(`not deleting ${dir}: ${mounts.join(", ")} still mounted`);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes every bed whose starting process is gone, including one kept by `npm run testbed -- up`
 * (beds share the bridge and addresses, so only one can run), and a bridge no running bed claims.
 * Returns the directories of the beds it removed.
 */
export function destroyLeftovers(): string[] {
  // A bridge can outlive every bed directory (a machine whose /var/tmp was wiped, or a bed killed between its bridge and its state file).
  const beds = (existsSync(BEDS_DIR) ? readdirSync(BEDS_DIR) : []).map((entry) => ({ path: join(BEDS_DIR, entry), state: readState(join(BEDS_DIR, entry)) }));
  const running = (state: BedState | undefined) => state?.owner != null && isRunning(state.owner);
  const anyRunning = beds.some((bed) => running(bed.state));
  const removed: string[] = [];
  for (const { path, state } of beds.filter((bed) => !running(bed.state))) {
    // With a bed running, the bridge is that bed's, whatever an older state file says.
    if (state) destroyBed({ ...state, bridge: state.bridge && !anyRunning });
    // A directory without a state file died before it started anything; a link without a target points nowhere.
    else removeBedDir(path);
    removed.push(state?.dir ?? path);
  }
  if (!anyRunning) deleteBridge();
  return removed;
}

let handlersInstalled = false;

/** Cleans up when a test run fails or is interrupted, so no node outlives the process that owns it. */
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", destroyLive);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      destroyLive();
      // With no other listener left, die of the signal as the process would have without us.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function destroyLive(): void {
  if (live.size > 0) killCommands();
  for (const state of [...live]) {
    try {
      destroyBed(state);
    } catch (error) {
      console.error(`kubeplug test bed ${state.dir}: cleanup failed: ${String(error)}`);
    }
  }
}
