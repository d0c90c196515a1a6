import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerdFeatures } from "../../src/catalog/containerd-features";
import { RenderedContainerd, renderContainerd } from "../../src/components/runtime/containerd-render";
import { parseStackFile } from "../../src/config/stack";
import { containerdBinDir } from "../support/containerd-binaries";
import { CriClient, PodSandboxConfig } from "../support/cri/client";
import { fetchDeb } from "../support/debs";
import { mountsUnder, readMounts } from "../support/mounts";
import { BUSYBOX_IMAGE, IMAGE_TOOLS, importImages } from "../support/oci-image";
import { PRIVATE_CONTAINERD_TOOLS, PrivateContainerd, sandboxImageOf, shimProcesses, startPrivateContainerd, bridgeNetwork } from "../support/private-containerd";
import { isRunning, listProcesses, netnsOf } from "../support/procs";
import { missingTools } from "../support/tools";
import { onePoolStack } from "../support/stack-yaml";

// The runtime handlers kubeplug renders for containerd, run for real: the config.toml kubeplug rendered for a
// stack with runc, crun and gVisor (all `from: package`, cgroupfs) goes unchanged (but for the private daemon's
// own paths) to Debian's containerd 1.6.20 (config v2) and sid's 2.1.9 (config v3). Each handler then runs a pod
// through CRI, and the test proves which OCI runtime really created it: a handler that silently fell back to the
// default runtime would pass a "pod is running" check, so every check below names the binary.
//
// Where a handler's runtime cannot run any container on the machine (a fact about the machine or the packaged
// runtime, decided up front below, not from the outcome), the test instead proves that containerd handed the pod
// to that handler's binary: the pod fails with that binary's own error message, and leaves nothing behind.

const BINARIES = { runc: "/usr/sbin/runc", crun: "/usr/bin/crun", gvisor: "/usr/bin/runsc" } as const;
type Handler = keyof typeof BINARIES;
const HANDLERS = Object.keys(BINARIES) as Handler[];
type Line = "1.6" | "2.1";

// runsc is the one binary Debian bookworm does not have: the test installs sid's (static, no dependencies) itself.
const skip = missingTools([...PRIVATE_CONTAINERD_TOOLS, ...IMAGE_TOOLS, "dpkg"], true)
  ?? ([BINARIES.runc, BINARIES.crun, "/usr/lib/cni/bridge", "/usr/lib/cni/host-local"].filter((f) => !existsSync(f))
    .map((f) => `needs ${f} (bash .ci/run installs runc, crun and containernetworking-plugins)`)[0]);

/**
 * Where the runc shim keeps the OCI runtime's state: `options.Root` defaults to /run/containerd/runc, plus the
 * containerd namespace (CRI's is k8s.io). kubeplug renders no Root, and the private containerd does not move it,
 * so runc, crun and runsc all get `--root` = this directory from the shim.
 */
const RUNTIME_ROOT = "/run/containerd/runc/k8s.io";

/** The `ociVersion` each containerd writes into a container's config.json (runtime-spec it vendors); checked below. */
const OCI_VERSION: Record<Line, string> = { "1.6": "1.0.2-dev", "2.1": "1.2.1" };

const VARIANTS = [
  ["containerd 1.6.20 (bookworm) with a v2 config", { line: "1.6" as const, version: "1.6.20" }],
  ["containerd 2.1.9 (sid) with a v3 config", { line: "2.1" as const, version: "2.1.9" }],
] as const;

/** A stack as a user would write it; the kubelet's cgroupfs driver because this machine's PID 1 is not systemd. */
function stackYaml(version: string): string {
  return onePoolStack({
    name: "handlers",
    cgroupDriver: "cgroupfs",
    runtime: `kind: containerd
version: ${version}
runtimes:
  runc: { engine: runc, install: { from: package } }
  crun: { engine: crun, install: { from: package } }
  gvisor: { engine: gvisor, install: { from: package } }`,
  });
}

/** kubeplug's rendering of the stack's only pool, with the context the planner gives it. */
function render(version: string): RenderedContainerd {
  const { config } = parseStackFile("handlers", stackYaml(version), `handlers-${version}.yaml`);
  const runtime = config.cluster.pools[0]!.runtime;
  if (runtime.kind !== "containerd") throw new Error("expected a containerd pool");
  return renderContainerd(runtime, { pool: "p", cgroupDriver: config.cluster.kubelet.cgroupDriver, cni: config.network.cni });
}

// Why a handler's runtime cannot run any container here, with the error it then fails with. ------------------

interface Blocker {
  reason: string;
  /** The runtime's own message, found in no other runtime, so a failing pod still proves which binary ran. */
  error: string;
  /** When the failed start leaves the sandbox behind: what StopPodSandbox then fails with. */
  stuck?: RegExp;
}

const TMPFS_MAGIC = 0x01021994;

function crunVersion(): number[] {
  const out = execFileSync(BINARIES.crun, ["--version"], { encoding: "utf8" });
  return (/^crun version (\d+)\.(\d+)(?:\.(\d+))?/m.exec(out) ?? []).slice(1).map((n) => Number(n ?? 0));
}

function versionBelow(have: number[], want: number[]): boolean {
  for (let i = 0; i < want.length; i++) if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) < want[i]!;
  return false;
}

function crunBlocker(line: Line): Blocker | undefined {
  const version = crunVersion();
  // crun before 1.14.3 accepts only an ociVersion containing "1.0" (a substring test, dropped in crun commit
  // 0860c0ff); bookworm's crun is 1.8.1, and containerd 2.x writes 1.2.1.
  if (versionBelow(version, [1, 14, 3]) && !OCI_VERSION[line].includes("1.0")) {
    return {
      reason: `crun ${version.join(".")} refuses ociVersion ${OCI_VERSION[line]}, which containerd ${line} writes (crun < 1.14.3 accepts only 1.0.x)`,
      error: "unknown version specified",
    };
  }
  // crun's cgroup code refuses hybrid mode (v1 controllers plus a cgroup2 at /sys/fs/cgroup/unified) as soon as
  // cgroup2 holds any controller, even with cgroups disabled. On a machine where hugetlb is mounted nowhere in v1,
  // it is v2's; with it mounted as a v1 hierarchy (as systemd does on hybrid hosts) crun runs the pods here.
  const unified = "/sys/fs/cgroup/unified/cgroup.controllers";
  if (statfsSync("/sys/fs/cgroup").type === TMPFS_MAGIC && existsSync(unified)) {
    const controllers = readFileSync(unified, "utf8").trim();
    if (controllers !== "") {
      return {
        reason: `cgroups are hybrid and cgroup2 holds controllers (${controllers}), which crun refuses`,
        error: "cgroups in hybrid mode not supported, drop all controllers from cgroupv2",
      };
    }
  }
  return undefined;
}

function gvisorBlocker(): Blocker | undefined {
  // Older runsc (Debian's is 20240729) tells the root network namespace by /proc/sys/net/core/rmem_default existing
  // (newer releases look at dev_weight); recent kernels show that file in every namespace, so such a runsc refuses
  // every pod network namespace.
  const runscChecksRmem = readFileSync(BINARIES.gvisor).includes("/proc/sys/net/core/rmem_default");
  const shownInNewNetns = spawnSync("unshare", ["--net", "test", "-e", "/proc/sys/net/core/rmem_default"]).status === 0;
  if (!runscChecksRmem || !shownInNewNetns) return undefined;
  const version = execFileSync(BINARIES.gvisor, ["--version"], { encoding: "utf8" }).split("\n")[0]!;
  return {
    reason: `${version} takes every network namespace for the root one on kernel ${readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()} (rmem_default is per-netns there)`,
    error: "cannot run with network enabled in root network namespace",
    // The sandbox booted (`runsc create`) but never started, and this runsc will not signal a created container,
    // which is how the runc shim stops one; containerd keeps the pod NOTREADY and cannot stop it.
    stuck: /runsc did not terminate successfully: exit status 128: cannot signal container "[0-9a-f]{64}" in state created/,
  };
}

/**
 * kubeplug's gVisor `from: package` handler runs the runc shim with BinaryName = /usr/bin/runsc, Debian's path, and
 * the config must be fed as rendered, so the binary has to be there. Installed while the tests are collected, not
 * in a hook: which gVisor tests run depends on the binary (gvisorBlocker).
 */
function ensureRunsc(): void {
  if (skip || existsSync(BINARIES.gvisor)) return;
  const deb = fetchDeb("sid", "runsc");
  execFileSync("dpkg", ["-i", deb], { stdio: ["ignore", "ignore", "inherit"] });
  console.log(`installed ${BINARIES.gvisor} from ${deb}`);
}
ensureRunsc();

function blockerFor(handler: Handler, line: Line): Blocker | undefined {
  if (skip) return undefined;
  if (handler === "crun") return crunBlocker(line);
  if (handler === "gvisor") return gvisorBlocker();
  return undefined;
}

// Pods ----------------------------------------------------------------------------------------------------

// runsc under CRI wants a pod network namespace of its own (DESIGN.md §4): its netstack takes over the interfaces
// CNI put there. So every pod, whatever its handler, gets one from a CNI bridge, and the timings compare like with
// like.
const SUBNET_PREFIX = "10.244.8.";
const NETWORK = bridgeNetwork("kp-handlers", "kp-rh0", SUBNET_PREFIX);

interface Pod {
  handler: string;
  podId: string;
  containerId: string;
  netns: string;
  /** Milliseconds for RunPodSandbox, and for CreateContainer + StartContainer of the `sleep 3600` container. */
  sandboxMs: number;
  containerMs: number;
}

function sandboxConfig(name: string): PodSandboxConfig {
  return {
    metadata: { name, uid: `${name}-uid`, namespace: "kp-handlers" },
    hostname: name,
    linux: { securityContext: { namespaceOptions: { network: "POD" } } },
  };
}

/** A pod as kubelet runs one for a RuntimeClass whose `handler` is `handler`. */
async function runPod(c: PrivateContainerd, cri: CriClient, name: string, handler: string): Promise<Pod> {
  const sandbox = sandboxConfig(name);
  const t0 = performance.now();
  const podId = await cri.runPodSandbox(sandbox, handler);
  const t1 = performance.now();
  try {
    const containerId = await cri.createContainer(podId, { metadata: { name: "sleeper" }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "3600"] }, sandbox);
    await cri.startContainer(containerId);
    const containerMs = performance.now() - t1;
    return { handler, podId, containerId, netns: podNetnsPath(c, podId), sandboxMs: t1 - t0, containerMs };
  } catch (err) {
    await cri.stopPodSandbox(podId).then(() => cri.removePodSandbox(podId)).catch(() => undefined);
    throw err;
  }
}

async function removePod(cri: CriClient, { podId, containerId }: Pod): Promise<void> {
  await cri.stopContainer(containerId, 0);
  await cri.removeContainer(containerId);
  await cri.stopPodSandbox(podId);
  await cri.removePodSandbox(podId);
}

/**
 * `<binary> --root RUNTIME_ROOT state <id>`, or undefined when that binary does not know the container.
 * runc (<id>/state.json), crun (<id>/status) and runsc (<sandbox>_sandbox:<id>.state) each keep their own state
 * format in the root the shim gave them, and none can read another's; so the one binary that answers `state` for
 * a container is the one that created it. This holds for as long as the container runs, unlike catching the
 * runtime's own short-lived process during create, and does not trust options.json, which only repeats the config.
 */
function runtimeState(binary: string, id: string): { status: string; pid: number } | undefined {
  const run = spawnSync(binary, ["--root", RUNTIME_ROOT, "state", id], { encoding: "utf8", timeout: 10_000 });
  return run.status === 0 ? JSON.parse(run.stdout) as { status: string; pid: number } : undefined;
}

/** The task bundle containerd wrote for a container or sandbox: the OCI spec the runtime was given. */
function bundleSpec(c: PrivateContainerd, id: string): { ociVersion: string; linux?: { namespaces?: { type: string; path?: string }[] } } {
  return JSON.parse(readFileSync(join(c.workDir, "state", "io.containerd.runtime.v2.task", "k8s.io", id, "config.json"), "utf8"));
}

/** The pod network namespace CRI pinned for a sandbox (under /run/netns, outside the private containerd's dirs). */
function podNetnsPath(c: PrivateContainerd, podId: string): string {
  const path = bundleSpec(c, podId).linux?.namespaces?.find((ns) => ns.type === "network")?.path;
  if (!path) throw new Error(`sandbox ${podId} has no network namespace path in its spec`);
  return path.replace(/^\/var\/run\//, "/run/");
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
}

function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** runsc processes (sandbox, gofer, or a runsc command) naming one of `ids`, whoever their parent is now. */
function runscProcesses(ids: string[]): string[] {
  return listProcesses()
    .filter((p) => /(^|\/)runsc(-[\w-]+)?$/.test(p.argv[0] ?? "") && p.argv.some((a) => ids.some((id) => a.includes(id))))
    .map((p) => `${p.pid} ${p.argv.join(" ")}`);
}

/** What a running containerd has started, to check after stop() that all of it is gone. */
function snapshot(c: PrivateContainerd) {
  const { shims, descendants } = shimProcesses(c.address);
  const shared = [netnsOf("self"), netnsOf(c.pid)];
  const podNetns = new Set(descendants.map(netnsOf).filter((ns) => ns !== undefined && !shared.includes(ns)));
  return { pids: [c.pid, ...shims, ...descendants], podNetns, workDir: c.workDir };
}

function expectNothingLeft(before: ReturnType<typeof snapshot>, ids: string[], netnsPaths: string[]): void {
  expect(before.pids.filter(isRunning)).toEqual([]);
  expect(runscProcesses(ids)).toEqual([]);
  expect(mountsUnder(before.workDir)).toEqual([]);
  expect(readMounts().filter((m) => before.podNetns.has(m.root) || netnsPaths.includes(m.mountPoint) || ids.some((id) => m.mountPoint.includes(id)))).toEqual([]);
  expect(netnsPaths.filter((p) => existsSync(p))).toEqual([]);
  expect(filesIn(RUNTIME_ROOT).filter((f) => ids.some((id) => f.includes(id)))).toEqual([]);
  expect(filesIn("/var/lib/cni/results").filter((f) => ids.some((id) => f.includes(id)))).toEqual([]);
  const reservations = NETWORK.reservations;
  const owners = filesIn(reservations).map((f) => readFileSync(join(reservations, f), "utf8").split("\n")[0]);
  expect(owners.filter((owner) => ids.includes(owner!))).toEqual([]);
  for (const id of ids) {
    expect(existsSync(`/sys/fs/cgroup/pids/k8s.io/${id}`) || existsSync(`/sys/fs/cgroup/k8s.io/${id}`), `cgroup of ${id}`).toBe(false);
  }
}

describe.skipIf(skip)(`runtime handlers kubeplug renders, run by a real containerd${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const timings: string[] = [];

  afterAll(() => {
    if (timings.length > 0) console.log(`pod start times (RunPodSandbox + CreateContainer/StartContainer):\n${timings.join("\n")}`);
    // host-local's lock and last-reserved files; the reservations themselves are gone with the pods.
    rmSync(NETWORK.reservations, { recursive: true, force: true });
  });

  describe.each(VARIANTS)("%s", (_title, { line, version }) => {
    const rendered = render(version);
    const features = containerdFeatures(version)!;
    let c: PrivateContainerd | undefined;
    let cri: CriClient | undefined;
    const pods = new Map<Handler, Pod>();
    /** Sandboxes a refused handler left behind, which CRI cannot stop, with their pod netns. */
    const stuck: { id: string; netns: string }[] = [];

    beforeAll(async () => {
      const workDir = mkdtempSync("/tmp/kp-rh-");
      try {
        c = await startPrivateContainerd({ configToml: rendered.configToml, binDir: containerdBinDir(line), workDir, cniConflists: NETWORK.conflists });
      } catch (err) {
        rmSync(workDir, { recursive: true, force: true });
        throw err;
      }
      cri = new CriClient(c.address);
      await importImages(c.address, { pause: [sandboxImageOf(rendered.configToml)!] }, c.ctr);
    });
    afterAll(async () => {
      try {
        for (const pod of pods.values()) await removePod(cri!, pod).catch(() => undefined); // stop() forces what is left
      } finally {
        cri?.close();
        await c?.stop();
        // Only after a clean stop: a failed one keeps the log and state for a look.
        if (c) rmSync(c.workDir, { recursive: true, force: true });
      }
    });

    it("renders one runc-shim handler per engine with the Debian package's binary and cgroupfs", () => {
      const toml = parse(rendered.configToml) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(toml.version).toBe(features.configVersion);
      const containerd = toml.plugins[features.criRuntimePlugin].containerd;
      expect(containerd.default_runtime_name).toBe("runc");
      expect(containerd.runtimes).toEqual(Object.fromEntries(HANDLERS.map((h) => [h, {
        runtime_type: "io.containerd.runc.v2",
        options: { BinaryName: BINARIES[h], SystemdCgroup: false },
      }])));
      // The runc shim reads no runsc shim config file.
      expect(rendered.runtimeFiles).toEqual([]);
      expect(sandboxImageOf(rendered.configToml)).toBe("registry.k8s.io/pause:3.10");
    });

    it("containerd loads the rendered handlers as they were rendered", async () => {
      expect((await cri!.version()).runtimeVersion.startsWith(`${line}.`)).toBe(true);
      const conditions = (await cri!.status()).status!.conditions;
      expect(conditions.filter((cond) => ["RuntimeReady", "NetworkReady"].includes(cond.type)).map((cond) => cond.status)).toEqual([true, true]);
      // The effective CRI config, as containerd reports it in a verbose Status.
      const config = JSON.parse((await cri!.status(true)).info.config!) as { containerd: { runtimes: Record<string, { runtimeType: string; options: { BinaryName?: string } }> } };
      for (const h of HANDLERS) {
        expect(config.containerd.runtimes[h]?.runtimeType, h).toBe("io.containerd.runc.v2");
        expect(config.containerd.runtimes[h]?.options.BinaryName, h).toBe(BINARIES[h]);
      }
    });

    for (const handler of HANDLERS) {
      const blocker = blockerFor(handler, line);

      it.skipIf(blocker)(`runs a pod with runtimeHandler ${handler}, created by ${BINARIES[handler]}${blocker ? ` (skipped: ${blocker.reason})` : ""}`, async () => {
        const pod = await runPod(c!, cri!, `pod-${handler}`, handler);
        pods.set(handler, pod);
        const total = pod.sandboxMs + pod.containerMs;
        timings.push(`  containerd ${version} ${handler.padEnd(6)} ${total.toFixed(0).padStart(5)} ms (sandbox ${pod.sandboxMs.toFixed(0)} ms, container ${pod.containerMs.toFixed(0)} ms)`);

        expect((await cri!.containerStatus(pod.containerId)).state).toBe("CONTAINER_RUNNING");
        // CRI keeps the handler with the sandbox: what kubelet compares against the RuntimeClass.
        const status = await cri!.podSandboxStatus(pod.podId);
        expect(status.state).toBe("SANDBOX_READY");
        expect(status.runtimeHandler).toBe(handler);
        expect(status.network!.ip.startsWith(SUBNET_PREFIX)).toBe(true);
        expect((await cri!.listPodSandbox()).find((p) => p.id === pod.podId)?.runtimeHandler).toBe(handler);

        // Exactly one runtime binary knows each of the pod's two containers (pause and sleeper): the handler's own.
        for (const id of [pod.podId, pod.containerId]) {
          expect(HANDLERS.filter((h) => runtimeState(BINARIES[h], id) !== undefined), `runtimes that know ${id}`).toEqual([handler]);
        }
        const state = runtimeState(BINARIES[handler], pod.containerId)!;
        expect(state.status).toBe("running");
        // The spec containerd handed to the runtime (what crun's version check reads).
        expect(bundleSpec(c!, pod.containerId).ociVersion).toBe(OCI_VERSION[line]);

        const hostKernel = readFileSync("/proc/version", "utf8");
        const procVersion = await cri!.execSync(pod.containerId, ["cat", "/proc/version"], 10);
        expect(procVersion.exitCode).toBe(0);
        if (handler === "gvisor") {
          // Not reached on the test machine (see gvisorBlocker). Run past that with `--network=none` added to runsc,
          // StartContainer of the sleeper did not return: the runc shim captures `runsc start`'s output until EOF,
          // and runsc hands its stdio to a subcontainer as the container's stdio, so the shim waits for the
          // container to exit. The assertions below hold for a gVisor runtime that works under CRI.
          // gVisor's Sentry is the kernel the container sees: its own version string and its own boot log.
          expect(procVersion.stdout).not.toBe(hostKernel);
          const dmesg = await cri!.execSync(pod.containerId, ["dmesg"], 10);
          expect(dmesg.exitCode).toBe(0);
          expect(dmesg.stdout).toContain("Starting gVisor");
          // The container's `sleep` lives inside the Sentry: runsc's state pid is one of its own host processes.
          expect(cmdline(state.pid)[0]).toMatch(/runsc/);
        } else {
          expect(procVersion.stdout).toBe(hostKernel);
          // runc and crun run the container's process directly on the host kernel: the state's pid is `sleep 3600`,
          // below the runc shim serving this containerd.
          expect(cmdline(state.pid)).toEqual(["sleep", "3600"]);
          expect(shimProcesses(c!.address).descendants).toContain(state.pid);
        }
      });

      if (blocker) {
        it(`hands a pod with runtimeHandler ${handler} to ${BINARIES[handler]}, which refuses it here: ${blocker.reason}`, async () => {
          const name = `pod-${handler}`;
          const t0 = performance.now();
          const err = await cri!.runPodSandbox(sandboxConfig(name), handler).then(() => undefined, (e: Error) => e);
          timings.push(`  containerd ${version} ${handler.padEnd(6)} refused after ${(performance.now() - t0).toFixed(0)} ms: ${blocker.reason}`);
          expect(err?.message).toContain(blocker.error);
          const left = (await cri!.listPodSandbox()).filter((p) => p.metadata.name === name);
          if (!blocker.stuck) {
            // containerd removed the sandbox that did not start.
            expect(left).toEqual([]);
            return;
          }
          // What kubelet would see: a NOTREADY pod of this handler that only the handler's binary knows, and a
          // StopPodSandbox that fails; stop() at the end must still clear it (runsc delete --force).
          expect(left.map((p) => [p.state, p.runtimeHandler])).toEqual([["SANDBOX_NOTREADY", handler]]);
          stuck.push({ id: left[0]!.id, netns: podNetnsPath(c!, left[0]!.id) });
          expect(HANDLERS.filter((h) => runtimeState(BINARIES[h], left[0]!.id) !== undefined)).toEqual([handler]);
          expect(runtimeState(BINARIES[handler], left[0]!.id)!.status).toBe("created");
          await expect(cri!.stopPodSandbox(left[0]!.id)).rejects.toThrow(blocker.stuck);
        });
      }
    }

    it("refuses a handler it has no runtime for, with containerd's own error", async () => {
      await expect(cri!.runPodSandbox(sandboxConfig("pod-nope"), "nope")).rejects.toThrow('no runtime for "nope" is configured');
      expect((await cri!.listPodSandbox()).filter((p) => p.metadata.name === "pod-nope")).toEqual([]);
    });

    it("stop() ends containerd, shims, the handler pods still running and stuck sandboxes, and leaves no mounts or netns", async () => {
      // The handler pods above still run: stop() must end every kind that started, and what a refusal left.
      expect([...pods.keys()].sort()).toEqual(HANDLERS.filter((h) => !blockerFor(h, line)).sort());
      const ids = [...[...pods.values()].flatMap((p) => [p.podId, p.containerId]), ...stuck.map((s) => s.id)];
      const netnsPaths = [...[...pods.values()].map((p) => p.netns), ...stuck.map((s) => s.netns)];
      expect(netnsPaths.every((p) => readMounts().some((m) => m.mountPoint === p))).toBe(true);
      const before = snapshot(c!);
      expect(before.podNetns.size).toBeGreaterThanOrEqual(pods.size);
      await c!.stop();
      pods.clear();
      expectNothingLeft(before, ids, netnsPaths);
    });
  });
});
