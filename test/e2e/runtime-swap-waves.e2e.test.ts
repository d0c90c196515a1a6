import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StandinApiServer, startStandinApiServer } from "../support/standin-apiserver";
import { missingTools } from "../support/tools";
import { command, failures, finishBed, onNode, Scenarios, Stack, waitForFreeBridge } from "./harness/scenarios";
import { crioBundle, CRIO_VERSION, StandinRelease } from "./standins/artifacts";
import { installKubectl, installKubeletStandin, standinNodeStatus } from "./standins/kubelet";
import { startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";

// Issue "runtime swap", waves: 7 booted Debian nodes (systemd-nspawn) in one pool move from
// containerd 1.6.20 to CRI-O (the STAND-IN bundle) with maxUnavailable 2, applied by the harness with
// a state file, as Pulumi's engine keeps one: a Command whose inputs did not change since its last
// success is not run again. The kubelet is a STAND-IN service, the API a STAND-IN server on the bed's
// link that the real kubectl on each node talks to (see runtime-swap.e2e.test.ts).
const skip = testbedUnavailableReason() ?? missingTools(["kubectl"]);
const NODES = testbedNodes(7);
const NAMES = NODES.map((n) => n.name);
const SOCKETS = { containerd: "unix:///run/containerd/containerd.sock", crio: "unix:///var/run/crio/crio.sock" } as const;

describe.skipIf(skip)(`a runtime swap in waves on 7 real test nodes${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;
  let crio: StandinRelease;
  let api: StandinApiServer | undefined;
  let stateFile: string;

  const on = (node: string, script: string) => onNode(bed!, node, script);
  const reported = (node: string) => api!.node(node).status.nodeInfo.containerRuntimeVersion as string;
  const cordoned = (node: string) => api!.node(node).spec?.unschedulable === true;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-waves-"));
    stateFile = join(work, "state.json");
    crio = await crioBundle();
    scenarios = new Scenarios(work);
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
    api = await startStandinApiServer({
      host: bed.hostAddress,
      nodes: NODES.map((n) => ({ name: n.name })),
      pods: NODES.map((n) => ({ namespace: "default", name: `web-${n.name}`, nodeName: n.name, ownerKind: "ReplicaSet" as const, ownerName: "web" })),
      nodeStatus: standinNodeStatus(bed),
    });
    installKubectl(bed, api);
  });

  afterAll(async () => {
    await api?.close();
    await finishBed(bed, work, scenarios, "runtime swap waves e2e figures");
  });

  function stack(runtime: Record<string, unknown>, swap?: Record<string, unknown>): Stack {
    return {
      config: {
        "kubeplug:cluster": {
          name: "waves",
          kubelet: { cgroupDriver: "systemd", version: "1.35.0" },
          ssh: bed!.stackSsh,
          downloads: { baseUrls: { "cri-o": crio.baseUrl }, checksums: { "cri-o": crio.checksums } },
          pools: [{ name: "p", runtime, ...(swap ? { swap } : {}) }],
          nodes: NODES.map((n) => ({ name: n.name, pool: "p", address: n.address })),
        },
      },
    };
  }
  const toCrio = (attempt = 1) =>
    stack({ kind: "crio", version: CRIO_VERSION, sandboxImage: "registry.test/kubeplug/pause:1", runtimes: { crun: { engine: "crun" }, runc: { engine: "runc" } } }, { from: { kind: "containerd", version: "1.6.20" }, maxUnavailable: 2, attempt, drain: { timeoutSeconds: 30 }, readyTimeoutSeconds: 60 });
  const status = (node: string) => on(node, "sed -n 's/^STATUS=//p' /var/lib/kubeplug/swap/state");

  it("7 nodes on containerd 1.6.20 with a running (stand-in) kubelet", async () => {
    const report = await scenarios.apply("7 nodes: containerd 1.6.20 fresh", stack({ kind: "containerd", version: "1.6.20", install: { from: "package" } }), { stateFile });
    expect(report.ok, failures(report)).toBe(true);
    await Promise.all(
      bed!.nodes.map((node) =>
        installKubeletStandin(bed!, node, { configYaml: `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\ncontainerRuntimeEndpoint: "${SOCKETS.containerd}"\n` }, { enable: true, start: true }),
      ),
    );
    for (const name of NAMES) await expect.poll(() => reported(name), { timeout: 20_000 }).toBe("containerd://1.6.20");
    scenarios.last().lost = "nothing";
  });

  it("a failure in wave 2 (node3) rolls node3 back and uncordons it, its wave partner finishes, waves 3 and 4 never start", async () => {
    await on("node3", "mkdir -p /run/kubeplug && echo 'swap-stop-old 1 fail' >/run/kubeplug/fault-injection");
    const report = await scenarios.apply("waves: fault in wave 2", toCrio(), { stateFile });
    expect(report.ok).toBe(false);
    const failed = command(report, "node3-swap-stop-old");
    expect(failed.status, failures(report)).toBe("failed");
    expect(failed.stderr).toContain("kubeplug[node3/swap-stop-old]: error: injected test fault");
    expect(failed.stdout).toMatch(/rolled back to containerd 1\.6\.20 \(containerd:\/\/1\.6\.20\), uncordoned/);
    for (const name of ["node1", "node2", "node4"]) expect(command(report, `${name}-swap-start`).status, name).toBe("ok");
    for (const name of ["node5", "node6", "node7"]) {
      expect(command(report, `${name}-swap-drain`).status, name).toBe("skipped");
      expect(command(report, `${name}-swap-preflight`).status, name).toBe("ok");
    }
    for (const name of ["node1", "node2", "node4"]) expect(reported(name)).toBe(`cri-o://${CRIO_VERSION}`);
    for (const name of ["node3", "node5", "node6", "node7"]) expect(reported(name)).toBe("containerd://1.6.20");
    for (const name of NAMES) expect(cordoned(name), name).toBe(false);
    expect(await status("node3")).toBe("rolled-back");
    expect(await on("node3", "systemctl is-active containerd kubelet; systemctl is-active crio || true")).toBe("active\nactive\ninactive");
    // Nodes of later waves were never cordoned: no request changed them.
    expect(api!.requests.filter((r) => r.method === "PATCH" && /node[567]$/.test(r.path))).toEqual([]);
    scenarios.last().lost = "nothing: node3 is back on containerd 1.6.20, uncordoned";
  });

  it("without a new attempt, the failed phase refuses to run again; it names the rollback and how to retry", async () => {
    const report = await scenarios.apply("waves: re-run without a new attempt", toCrio(), { stateFile });
    expect(report.ok).toBe(false);
    expect(command(report, "node3-swap-stop-old").stderr, failures(report)).toContain("raise swap.attempt");
    expect(command(report, "node5-swap-drain").status).toBe("skipped");
    scenarios.last().lost = "nothing";
  });

  it("attempt 2, with the applying process's step killed mid-wave (node5), then a re-run: every node ends on CRI-O, uncordoned", async () => {
    await on("node5", "mkdir -p /run/kubeplug && echo 'swap-repoint 1 kill' >/run/kubeplug/fault-injection");
    const killed = await scenarios.apply("waves: attempt 2, node5 killed in swap-repoint", toCrio(2), { stateFile });
    expect(killed.ok).toBe(false);
    expect(command(killed, "node5-swap-repoint").status, failures(killed)).toBe("failed");
    expect(command(killed, "node7-swap-drain").status).toBe("skipped");
    expect(reported("node3")).toBe(`cri-o://${CRIO_VERSION}`);
    // Between runtimes: no rollback ran (the step was killed), the kubelet is stopped, the node cordoned.
    expect(await status("node5")).toMatch(/^(prepulled|repointed)$/);
    expect(cordoned("node5")).toBe(true);

    const resumed = await scenarios.apply("waves: attempt 2 re-run after the kill", toCrio(2), { stateFile });
    expect(resumed.ok, failures(resumed)).toBe(true);
    // Only what had not finished ran: node5 from its killed phase on, and wave 4.
    const ran = resumed.commands.filter((c) => c.status === "ok");
    expect(ran.filter((c) => c.node === "node5").map((c) => c.step)).toEqual(["swap-repoint", "swap-start"]);
    expect([...new Set(ran.map((c) => c.node))].sort()).toEqual(["node5", "node7"]);
    expect(command(resumed, "node5-swap-repoint").stdout).toContain("the kubelet now points at");
    for (const name of NAMES) {
      expect(reported(name), name).toBe(`cri-o://${CRIO_VERSION}`);
      expect(cordoned(name), name).toBe(false);
      // Attempt 2 found the nodes attempt 1 finished already on CRI-O (on-new); the others it swapped (done).
      expect(await status(name), name).toBe(["node1", "node2", "node4"].includes(name) ? "on-new" : "done");
    }
    scenarios.last().lost = "nothing: 7 of 7 nodes on CRI-O, none cordoned";
  });
});
