import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerdBinDir } from "../support/containerd-binaries";
import { CriClient, NamespaceMode, PodSandboxConfig } from "../support/cri/client";
import { mountsUnder, readMounts } from "../support/mounts";
import { BUSYBOX_IMAGE, IMAGE_TOOLS, importImages } from "../support/oci-image";
import { PRIVATE_CONTAINERD_TOOLS, PrivateContainerd, sandboxImageOf, shimProcesses, startPrivateContainerd, bridgeNetwork } from "../support/private-containerd";
import { isRunning, listProcesses, netnsOf } from "../support/procs";
import { missingTools } from "../support/tools";

// Proves the support that real tests stand on: a private containerd (Debian's 1.6 and 2.1) started from a
// config, images built offline, a CRI client running pods with a runtime handler, and a stop() that leaves
// nothing behind, also after containerd was killed with pods running.
const skip = missingTools([...PRIVATE_CONTAINERD_TOOLS, ...IMAGE_TOOLS, "nsenter", "curl"], true)
  ?? (existsSync("/usr/lib/cni/bridge") ? undefined : "needs /usr/lib/cni/bridge (apt-get install containernetworking-plugins)");

// cgroupfs, not systemd: the machine's PID 1 is not systemd, so runc could not ask it for cgroups.
const CONFIG_V2 = `version = 2
[plugins."io.containerd.grpc.v1.cri"]
sandbox_image = "registry.k8s.io/pause:3.10"
[plugins."io.containerd.grpc.v1.cri".containerd]
default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
SystemdCgroup = false
[plugins."io.containerd.grpc.v1.cri".cni]
bin_dir = "/opt/cni/bin"
conf_dir = "/etc/cni/net.d"
`;

const CONFIG_V3 = `version = 3
[plugins."io.containerd.cri.v1.images".pinned_images]
sandbox = "registry.k8s.io/pause:3.10"
[plugins."io.containerd.cri.v1.runtime".containerd]
default_runtime_name = "runc"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
SystemdCgroup = false
[plugins."io.containerd.cri.v1.runtime".cni]
bin_dirs = ["/opt/cni/bin"]
conf_dir = "/etc/cni/net.d"
`;

// [title, variant] pairs: vitest quotes string fields interpolated with $name, but not %s.
const VARIANTS = [
  ["containerd 1.6 (bookworm) with a v2 config", { line: "1.6" as const, configToml: CONFIG_V2 }],
  ["containerd 2.1 (sid) with a v3 config", { line: "2.1" as const, configToml: CONFIG_V3 }],
] as const;

const SUBNET_PREFIX = "10.244.7.";
const NETWORK = bridgeNetwork("kp-cri", "kp-cri0", SUBNET_PREFIX);

async function startVariant(line: "1.6" | "2.1", configToml: string): Promise<PrivateContainerd> {
  const workDir = mkdtempSync("/tmp/kp-cri-");
  try {
    return await startPrivateContainerd({ configToml, binDir: containerdBinDir(line), workDir, cniConflists: NETWORK.conflists });
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
}

/** Started and ready for pods; `c` is set before the import, so afterAll stops it even when the import fails. */
async function setUp(line: "1.6" | "2.1", configToml: string, set: (c: PrivateContainerd, cri: CriClient) => void): Promise<void> {
  const c = await startVariant(line, configToml);
  const cri = new CriClient(c.address);
  set(c, cri);
  await importImages(c.address, { pause: [sandboxImageOf(configToml)!] }, c.ctr);
}

async function finish(c: PrivateContainerd | undefined, cri: CriClient | undefined): Promise<void> {
  cri?.close();
  await c?.stop();
  // Only after a clean stop: a failed one keeps the log and state for a look.
  if (c) rmSync(c.workDir, { recursive: true, force: true });
}

/** A pod running `sleep 3600` with the runc handler, as kubelet would create it. */
async function runPod(cri: CriClient, name: string, network: NamespaceMode): Promise<{ podId: string; containerId: string }> {
  const sandbox: PodSandboxConfig = {
    metadata: { name, uid: `${name}-uid`, namespace: "kp-test" },
    // runc refuses a hostname without a UTS namespace of the pod's own, and kubelet sets none for host-network pods.
    ...(network === "NODE" ? {} : { hostname: name }),
    linux: { securityContext: { namespaceOptions: { network } } },
  };
  const podId = await cri.runPodSandbox(sandbox, "runc");
  const containerId = await cri.createContainer(podId, { metadata: { name: "sleeper" }, image: { image: BUSYBOX_IMAGE }, command: ["sleep", "3600"] }, sandbox);
  await cri.startContainer(containerId);
  return { podId, containerId };
}

async function removePod(cri: CriClient, { podId, containerId }: { podId: string; containerId: string }): Promise<void> {
  await cri.stopContainer(containerId, 0);
  await cri.removeContainer(containerId);
  await cri.stopPodSandbox(podId);
  await cri.removePodSandbox(podId);
}

/** What a running containerd has started, to check after stop() that all of it is gone. */
function snapshot(c: PrivateContainerd) {
  const { shims, descendants } = shimProcesses(c.address);
  const shared = [netnsOf("self"), netnsOf(c.pid)];
  const podNetns = new Set(descendants.map(netnsOf).filter((ns) => ns !== undefined && !shared.includes(ns)));
  return { pids: [c.pid, ...shims, ...descendants], podNetns, workDir: c.workDir };
}

function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

function expectNothingLeft(before: ReturnType<typeof snapshot>, containerIds: string[]): void {
  expect(before.pids.filter(isRunning)).toEqual([]);
  expect(mountsUnder(before.workDir)).toEqual([]);
  expect(readMounts().filter((m) => before.podNetns.has(m.root))).toEqual([]);
  expect(filesIn("/var/lib/cni/results").filter((f) => containerIds.some((id) => f.includes(id)))).toEqual([]);
  const reservations = NETWORK.reservations;
  const owners = filesIn(reservations).map((f) => readFileSync(join(reservations, f), "utf8").split("\n")[0]);
  expect(owners.filter((owner) => containerIds.includes(owner!))).toEqual([]);
  for (const id of containerIds) {
    expect(existsSync(`/run/containerd/runc/k8s.io/${id}`)).toBe(false);
    // cgroupfs puts CRI containers under /k8s.io/<id> in every v1 hierarchy (or the one v2 tree).
    expect(existsSync(`/sys/fs/cgroup/pids/k8s.io/${id}`) || existsSync(`/sys/fs/cgroup/k8s.io/${id}`)).toBe(false);
  }
}

describe.skipIf(skip)(`CRI test support with a private containerd${skip ? ` (skipped: ${skip})` : ""}`, () => {
  // host-local's lock and last-reserved files; the reservations themselves are gone with the pods.
  afterAll(() => rmSync(NETWORK.reservations, { recursive: true, force: true }));

  describe.each(VARIANTS)("%s", (_title, { line, configToml }) => {
    let c: PrivateContainerd | undefined;
    let cri: CriClient | undefined;

    beforeAll(() => setUp(line, configToml, (started, client) => { c = started; cri = client; }));
    afterAll(() => finish(c, cri));

    it("rewrites only root, state, sockets, CNI dirs and host-global defaults in the config", () => {
      const given = parse(configToml);
      const used = parse(readFileSync(c!.configPath, "utf8"));
      const plugins = used.plugins as Record<string, Record<string, unknown>>;
      const criRuntime = plugins[line === "1.6" ? "io.containerd.grpc.v1.cri" : "io.containerd.cri.v1.runtime"]!;
      expect(used.root).toMatch(/^\/tmp\/kp-cri-/);
      expect(used.state).toMatch(/^\/tmp\/kp-cri-/);
      expect(used.grpc).toEqual({ address: c!.address });
      expect(criRuntime.cni).toEqual(line === "1.6"
        ? { bin_dir: "/usr/lib/cni", conf_dir: c!.cniConfDir }
        : { bin_dirs: ["/usr/lib/cni"], conf_dir: c!.cniConfDir });
      // Everything else is the given config, key for key.
      for (const doc of [given, used]) {
        for (const key of ["root", "state", "grpc", "ttrpc"]) delete doc[key];
        const p = doc.plugins as Record<string, Record<string, unknown>>;
        for (const key of ["io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri"]) delete p[key];
        const criTable = p[line === "1.6" ? "io.containerd.grpc.v1.cri" : "io.containerd.cri.v1.runtime"]!;
        delete criTable.cni;
        delete criTable.restrict_oom_score_adj;
      }
      expect(used).toEqual(given);
    });

    it("answers CRI Version and Status and lists the imported images", async () => {
      const version = await cri!.version();
      expect(version.runtimeName).toBe("containerd");
      expect(version.runtimeVersion.startsWith(`${line}.`)).toBe(true);
      const conditions = (await cri!.status()).status!.conditions;
      expect(conditions.filter((cond) => ["RuntimeReady", "NetworkReady"].includes(cond.type)).map((cond) => cond.status)).toEqual([true, true]);
      const tags = (await cri!.listImages()).flatMap((image) => image.repoTags);
      expect(tags).toEqual(expect.arrayContaining([BUSYBOX_IMAGE, "registry.k8s.io/pause:3.10"]));
    });

    it("runs a host-network pod with the runc handler through binDir's own shim", async () => {
      const pod = await runPod(cri!, "hostnet", "NODE");
      try {
        expect((await cri!.containerStatus(pod.containerId)).state).toBe("CONTAINER_RUNNING");
        const exec = await cri!.execSync(pod.containerId, ["cat", "/proc/version"], 10);
        expect(exec).toEqual({ stdout: readFileSync("/proc/version", "utf8"), stderr: "", exitCode: 0 });
        const shims = shimProcesses(c!.address).shims.map((pid) => readlinkSync(`/proc/${pid}/exe`));
        expect(shims).toEqual([join(containerdBinDir(line), "containerd-shim-runc-v2")]);
      } finally {
        await removePod(cri!, pod);
      }
    });

    it("runs a pod on the CNI network, reachable from containerd's own network namespace and not the host's", async () => {
      const pod = await runPod(cri!, "podnet", "POD");
      try {
        const ip = (await cri!.podSandboxStatus(pod.podId)).network!.ip;
        expect(ip.startsWith(SUBNET_PREFIX)).toBe(true);
        const exec = await cri!.execSync(pod.containerId, ["ip", "-4", "addr", "show", "eth0"], 10);
        expect(exec.stdout).toContain(`inet ${ip}/24`);
        // busybox httpd forks into the background with /dev/null for stdio, so ExecSync returns.
        expect((await cri!.execSync(pod.containerId, ["httpd", "-p", "8080", "-h", "/etc"], 10)).exitCode).toBe(0);
        const served = execFileSync("nsenter", [`--net=${c!.netns}`, "curl", "-sf", `http://${ip}:8080/group`], { encoding: "utf8" });
        expect(served).toBe("root:x:0:\nnogroup:x:65534:\n");
        expect(existsSync("/sys/class/net/kp-cri0")).toBe(false);
      } finally {
        await removePod(cri!, pod);
      }
      expect(await cri!.listPodSandbox()).toEqual([]);
    });

    it("stop() ends containerd, shims and containers of running pods and leaves no mounts", async () => {
      const pods = [await runPod(cri!, "left-hostnet", "NODE"), await runPod(cri!, "left-podnet", "POD")];
      const before = snapshot(c!);
      expect(before.pids.length).toBeGreaterThanOrEqual(1 + 2 * 3); // containerd, and per pod: shim, pause, sleep
      await c!.stop();
      expectNothingLeft(before, pods.flatMap((p) => [p.podId, p.containerId]));
    });
  });

  it.each(VARIANTS)("%s: a config the CRI plugin rejects fails start-up with the reason and leaves nothing running", async (_title, { line, configToml }) => {
    const broken = configToml.replace('default_runtime_name = "runc"', 'default_runtime_name = "nope"');
    const workDir = mkdtempSync("/tmp/kp-cri-");
    try {
      await expect(startPrivateContainerd({ configToml: broken, binDir: containerdBinDir(line), workDir }))
        .rejects.toThrow('no corresponding runtime configured in `containerd.runtimes` for `containerd` `default_runtime_name = \\"nope\\"');
      expect(listProcesses().filter((p) => p.argv.some((arg) => arg.startsWith(workDir)))).toEqual([]);
      expect(existsSync(join(workDir, "root")) || existsSync(join(workDir, "state"))).toBe(false);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  describe.each(VARIANTS)("%s, killed with pods running", (_title, { line, configToml }) => {
    let c: PrivateContainerd | undefined;
    let cri: CriClient | undefined;

    beforeAll(() => setUp(line, configToml, (started, client) => { c = started; cri = client; }));
    afterAll(() => finish(c, cri));

    it("stop() still ends every shim and container and releases mounts, pod netns, runc state and cgroups", async () => {
      const pods = [await runPod(cri!, "crash-hostnet", "NODE"), await runPod(cri!, "crash-podnet", "POD")];
      const before = snapshot(c!);
      expect(before.podNetns.size).toBe(1);
      process.kill(c!.pid, "SIGKILL");
      while (isRunning(c!.pid)) await new Promise((r) => setTimeout(r, 20));
      await c!.stop();
      expectNothingLeft(before, pods.flatMap((p) => [p.podId, p.containerId]));
    });
  });
});
