import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SWAP_STEPS } from "../../src/components/runtime/runtime-swap";
import { validateStackConfig } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";
import { imageArchives, IMAGE_TOOLS } from "../support/oci-image";
import { pushImage, REGISTRY_TOOLS, startRegistry, TestRegistry } from "../support/registry";
import { StandinApiServer, startStandinApiServer } from "../support/standin-apiserver";
import { missingTools } from "../support/tools";
import { command, failures, finishBed, onNode, Scenarios, Stack, waitForFreeBridge, withCrictlStandin } from "./harness/scenarios";
import { runSpec } from "./harness/run-step";
import { crioBundle, CRIO_VERSION, StandinRelease } from "./standins/artifacts";
import { installCriDockerdStandin, installKubectl, installKubeletStandin, kubeletEvents, KubeletStandinFiles, standinNodeStatus } from "./standins/kubelet";
import { startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";

// Issue "runtime swap": one node per move, on booted Debian nodes (systemd-nspawn), applied by the
// harness that runs the Pulumi program's own Command inputs over SSH:
//   node1  containerd 1.6.20 (config v2) -> containerd 2.1.9 (config v3) -> back to 1.6.20, Debian's packages
//   node2  containerd 1.6.20 -> CRI-O 1.36.3 (the STAND-IN bundle: test/e2e/standins/crio/)
//   node3  Debian's docker.io with a STAND-IN cri-dockerd unit -> containerd 1.6.20, first refused by a
//          PodDisruptionBudget that allows no eviction of node3's pod
// The kubelet is a STAND-IN service (test/e2e/standins/kubelet/) that reads the same unit
// environment, flag files and config files and reports the endpoint it would use. The Kubernetes side
// runs the real kubectl (copied onto each node) against a STAND-IN API server on the bed's link
// (test/support/standin-apiserver.ts), which records every request. Images come from a real
// registry (Debian's docker-registry) on the bed's link.
const skip = testbedUnavailableReason() ?? missingTools(["kubectl", ...REGISTRY_TOOLS, ...IMAGE_TOOLS]);
const NODES = testbedNodes(3);
const REGISTRY_PORT = 5081;
const CRI_SOCKET = "kubeadm.alpha.kubernetes.io/cri-socket";
const SOCKETS = { containerd: "unix:///run/containerd/containerd.sock", crio: "unix:///var/run/crio/crio.sock", docker: "unix:///var/run/cri-dockerd.sock" } as const;
const KUBELET_CONFIG = (endpoint?: string) =>
  `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n${endpoint ? `containerRuntimeEndpoint: "${endpoint}"\n` : ""}`;

describe.skipIf(skip)(`runtime swaps on real test nodes, with a stand-in kubelet and API server${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;
  let crio: StandinRelease;
  let registry: TestRegistry | undefined;
  let api: StandinApiServer | undefined;

  const on = (node: string, script: string) => onNode(bed!, node, script);
  const image = (name: string) => `${registry!.host}/kubeplug/${name}:1`;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-swap-"));
    crio = await crioBundle();
    scenarios = new Scenarios(work);
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
    registry = await startRegistry({ name: "swap", netns: "/proc/self/ns/net", address: bed.hostAddress, port: REGISTRY_PORT, storage: join(work, "registry-storage"), workDir: join(work, "registry") });
    pushImage("/proc/self/ns/net", `oci-archive:${imageArchives().pause}`, registry, "kubeplug/pause:1");
    pushImage("/proc/self/ns/net", `oci-archive:${imageArchives().busybox}`, registry, "kubeplug/agent:1");
    api = await startStandinApiServer({
      host: bed.hostAddress,
      nodes: NODES.map((n) => ({ name: n.name, annotations: { [CRI_SOCKET]: n.name === "node3" ? SOCKETS.docker : SOCKETS.containerd } })),
      // Per node: a DaemonSet pod (stays through the drain; its image is pre-pulled) and a ReplicaSet pod (evicted).
      pods: NODES.flatMap((n) => [
        { namespace: "kube-system", name: `agent-${n.name}`, nodeName: n.name, ownerKind: "DaemonSet" as const, ownerName: "agent", images: [image("agent")] },
        { namespace: "default", name: `web-${n.name}`, nodeName: n.name, ownerKind: "ReplicaSet" as const, ownerName: "web", labels: { app: n.name === "node3" ? "db" : "web" } },
      ]),
      pdbs: [{ namespace: "default", name: "db", selector: { app: "db" }, disruptionsAllowed: 0 }],
      daemonSets: [{ namespace: "kube-system", name: "agent", images: [image("agent")] }],
      nodeStatus: standinNodeStatus(bed),
    });
    installKubectl(bed, api);
  });

  afterAll(async () => {
    await api?.close();
    await registry?.stop();
    await finishBed(bed, work, scenarios, "runtime swap e2e figures");
  });

  const registries = () => ({ hosts: { [registry!.host]: { server: { url: `http://${registry!.host}` } } } });
  const containerd = (version: string) => ({ kind: "containerd", version, install: { from: "package" }, sandboxImage: image("pause"), registries: registries() });
  // runc as well: the pods of the old containerd used it, and the swap refuses to drop a handler.
  const crioRuntime = () => ({ kind: "crio", version: CRIO_VERSION, sandboxImage: image("pause"), runtimes: { crun: { engine: "crun" }, runc: { engine: "runc" } } });

  function stack(node: string, runtime: Record<string, unknown>, swap?: Record<string, unknown>): Stack {
    const spec = NODES.find((n) => n.name === node)!;
    return {
      config: {
        "kubeplug:cluster": {
          name: "swap",
          kubelet: { cgroupDriver: "systemd", version: "1.35.0" },
          ssh: bed!.stackSsh,
          downloads: { baseUrls: { "cri-o": crio.baseUrl }, checksums: { "cri-o": crio.checksums } },
          pools: [{ name: "p", runtime, ...(swap ? { swap: { drain: { timeoutSeconds: 30 }, readyTimeoutSeconds: 60, ...swap } } : {}) }],
          nodes: [{ name: node, pool: "p", address: spec.address }],
        },
      },
    };
  }

  /** The node's kubelet (the stand-in) runs, and reports the runtime it talks to. */
  async function kubeletOn(node: string, files: KubeletStandinFiles): Promise<void> {
    await installKubeletStandin(bed!, bed!.nodes.find((n) => n.name === node)!, files, { enable: true, start: true });
  }

  const reported = (node: string) => api!.node(node).status.nodeInfo.containerRuntimeVersion as string;
  const schedulable = (node: string) => api!.node(node).spec?.unschedulable !== true;
  /** The node's own requests (cordon, evictions, annotation, uncordon), in order, without reads. */
  const writes = (from: number, node: string) =>
    api!.requests.slice(from).filter((r) => r.method !== "GET" && (r.path.includes(`/nodes/${node}`) || r.path.includes(`-${node}/eviction`))).map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body)}`);

  it("node1: containerd 1.6.20 (config v2) moves to containerd 2.1.9 (config v3): drained, kubelet repointed and restarted after the runtime, uncordoned; old files kept", async () => {
    const lost = await scenarios.group("containerd 1.6.20 -> 2.1.9", async () => {
      expect((await scenarios.apply("node1: containerd 1.6.20 fresh", stack("node1", containerd("1.6.20")))).ok).toBe(true);
      await kubeletOn("node1", { configYaml: KUBELET_CONFIG(SOCKETS.containerd) });
      await expect.poll(() => reported("node1"), { timeout: 20_000 }).toBe("containerd://1.6.20");
      const mark = api!.requests.length;

      const report = await scenarios.apply("node1: swap to 2.1.9", stack("node1", containerd("2.1.9"), { from: { kind: "containerd", version: "1.6.20" } }));
      expect(report.ok, failures(report)).toBe(true);
      expect(report.commands.map((c) => c.step)).toEqual(planCluster(validateStackConfig("swap", (await withCrictlStandin(stack("node1", containerd("2.1.9"), { from: { kind: "containerd", version: "1.6.20" } }))).config).config).nodes[0]!.steps.map((s) => s.id));
      expect(await on("node1", "containerd --version | awk '{print $3}'")).toMatch(/^2\.1\.9/);
      expect(await on("node1", "containerd config dump | grep -m1 '^version'")).toBe("version = 3");
      expect(reported("node1")).toMatch(/^containerd:\/\/2\.1\.9/);
      expect(schedulable("node1")).toBe(true);
      // Cordoned, the ReplicaSet pod evicted (the DaemonSet pod stays), the annotation repointed (same socket: unchanged), uncordoned.
      expect(writes(mark, "node1")).toEqual([
        'PATCH /api/v1/nodes/node1 {"spec":{"unschedulable":true}}',
        'POST /api/v1/namespaces/default/pods/web-node1/eviction {"kind":"Eviction","apiVersion":"policy/v1","metadata":{"name":"web-node1","namespace":"default","creationTimestamp":null},"deleteOptions":{}}',
        'PATCH /api/v1/nodes/node1 {"spec":{"unschedulable":null}}',
      ]);
      // The kubelet stopped before the old runtime, and started once, on the new one.
      const events = kubeletEvents(bed!.nodes[0]!).slice(-2);
      expect(events.map((e) => e.event)).toEqual(["stop", "start"]);
      expect(events[1]!.detail).toContain(`endpoint=${SOCKETS.containerd}`);
      expect(events[1]!.detail).toContain("runtime=containerd://2.1.9");
      const stopped = events[0]!.ns;
      const containerdStarted = BigInt(await on("node1", "date -d \"$(systemctl show -p ActiveEnterTimestamp --value containerd)\" +%s%N"));
      expect(stopped < containerdStarted).toBe(true);
      // Pre-pulled into the new runtime: the sandbox image and the DaemonSet pod's image.
      expect((await on("node1", "ctr -n k8s.io images ls -q")).split("\n")).toEqual(expect.arrayContaining([image("pause"), image("agent")]));
      // Kept for rollback: the old binaries and config; the old data stays where it was.
      expect(await on("node1", "tar -tf /var/lib/kubeplug/swap/runtime-files.tar --absolute-names | grep -c -e '^/usr/bin/containerd$' -e '^/etc/containerd/config.toml$'")).toBe("2");
      expect(await on("node1", "grep -c '^version = 2' <(tar -xOf /var/lib/kubeplug/swap/runtime-files.tar --absolute-names /etc/containerd/config.toml)")).toBe("1");
      expect(await on("node1", "test -d /var/lib/containerd/io.containerd.content.v1.content && echo kept")).toBe("kept");
      expect(await on("node1", "sed -n 's/^STATUS=//p' /var/lib/kubeplug/swap/state")).toBe("done");

      // Everything again (the idempotence check: every step runs): nothing to swap, no request that writes.
      const again = api!.requests.length;
      const second = await scenarios.apply("node1: swap again", stack("node1", containerd("2.1.9"), { from: { kind: "containerd", version: "1.6.20" } }));
      expect(second.ok, failures(second)).toBe(true);
      for (const id of Object.values(SWAP_STEPS)) expect(command(second, `node1-${id}`).stdout).toMatch(/nothing to swap|already uses/);
      expect(writes(again, "node1")).toEqual([]);
      expect(kubeletEvents(bed!.nodes[0]!).slice(-1)[0]!.event).toBe("start");
      return "nothing";
    });
    expect(lost.lost).toBe("nothing");
  });

  it("node1: and back from containerd 2.1.9 to 1.6.20 (a downgrade through apt, config v2 again)", async () => {
    const report = await scenarios.apply("node1: swap back to 1.6.20", stack("node1", containerd("1.6.20"), { from: { kind: "containerd", version: "2.1.9" } }));
    expect(report.ok, failures(report)).toBe(true);
    expect(await on("node1", "dpkg-query -W -f='${Version}' containerd")).toMatch(/^1\.6\.20/);
    expect(await on("node1", "containerd config dump | grep -m1 '^version'")).toBe("version = 2");
    expect(reported("node1")).toBe("containerd://1.6.20");
    expect(schedulable("node1")).toBe(true);
    scenarios.last().lost = "nothing";
  });

  it("node2: containerd 1.6.20 moves to CRI-O (stand-in bundle): kubeadm-flags.env repointed, containerd stopped and disabled, its data kept", async () => {
    expect((await scenarios.apply("node2: containerd 1.6.20 fresh", stack("node2", containerd("1.6.20")))).ok).toBe(true);
    await kubeletOn("node2", { configYaml: KUBELET_CONFIG(), kubeadmFlags: `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=${SOCKETS.containerd} --node-ip=${NODES[1]!.address}"\n` });
    await expect.poll(() => reported("node2"), { timeout: 20_000 }).toBe("containerd://1.6.20");
    const mark = api!.requests.length;

    const report = await scenarios.apply("node2: swap to CRI-O", stack("node2", crioRuntime(), { from: { kind: "containerd", version: "1.6.20" } }));
    expect(report.ok, failures(report)).toBe(true);
    expect(await on("node2", "cat /var/lib/kubelet/kubeadm-flags.env")).toBe(`KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=${SOCKETS.crio} --node-ip=${NODES[1]!.address}"`);
    expect(await on("node2", "systemctl is-active containerd; systemctl is-enabled containerd; systemctl is-active crio")).toBe("inactive\ndisabled\nactive");
    expect(await on("node2", "test -d /var/lib/containerd && test -f /etc/containerd/config.toml && echo kept")).toBe("kept");
    expect(reported("node2")).toBe(`cri-o://${CRIO_VERSION}`);
    expect(api!.node("node2").metadata.annotations[CRI_SOCKET]).toBe(SOCKETS.crio);
    // The stand-in crictl records what was asked of it: the sandbox image and the DaemonSet pod's image.
    expect((await on("node2", "cat /var/lib/crio-standin/images")).split("\n").sort()).toEqual([image("agent"), image("pause")].sort());
    expect(writes(mark, "node2").map((w) => w.split(" ").slice(0, 2).join(" "))).toEqual([
      "PATCH /api/v1/nodes/node2",
      "POST /api/v1/namespaces/default/pods/web-node2/eviction",
      "PATCH /api/v1/nodes/node2",
      "PATCH /api/v1/nodes/node2",
    ]);
    expect(schedulable("node2")).toBe(true);
    scenarios.last().lost = "nothing";
  });

  it("node3: a drain a PodDisruptionBudget blocks fails within its timeout naming the pod; node3 is uncordoned and stays on Docker", async () => {
    await on("node3", "apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -y -q install --no-install-recommends docker.io >/dev/null");
    await installCriDockerdStandin(bed!, bed!.nodes[2]!);
    await kubeletOn("node3", { configYaml: KUBELET_CONFIG(), extraArgs: `KUBELET_EXTRA_ARGS=--container-runtime-endpoint=${SOCKETS.docker}\n` });
    await expect.poll(() => reported("node3"), { timeout: 20_000 }).toMatch(/^docker:\/\//);
    const before = await on("node3", "systemctl is-active cri-docker.socket; dpkg-query -W -f='${Status}' docker.io");
    const mark = api!.requests.length;

    const report = await scenarios.apply("node3: swap Docker to containerd, drain blocked by a PDB", stack("node3", containerd("1.6.20"), { from: { kind: "docker" }, drain: { timeoutSeconds: 10 } }));
    expect(report.ok).toBe(false);
    const drain = command(report, "node3-swap-drain");
    expect(drain.status).toBe("failed");
    expect(drain.stderr).toContain("drain did not finish within 10s: a PodDisruptionBudget allowed no eviction of default/web-node3; the node was uncordoned again, its runtime is unchanged, and no later wave starts");
    for (const id of [SWAP_STEPS.stopOld, "containerd-install", SWAP_STEPS.prepull, SWAP_STEPS.repoint, SWAP_STEPS.start]) expect(command(report, `node3-${id}`).status, id).toBe("skipped");
    // kubectl asked again and again, each eviction refused with 429 by the budget, until its --timeout; then kubeplug uncordoned.
    const evictions = api!.requests.slice(mark).filter((r) => r.path === "/api/v1/namespaces/default/pods/web-node3/eviction");
    expect(evictions.length).toBeGreaterThan(1);
    expect(new Set(evictions.map((r) => r.status))).toEqual(new Set([429]));
    const nodeWrites = writes(mark, "node3").filter((w) => w.startsWith("PATCH"));
    expect(nodeWrites).toEqual(['PATCH /api/v1/nodes/node3 {"spec":{"unschedulable":true}}', 'PATCH /api/v1/nodes/node3 {"spec":{"unschedulable":null}}']);
    expect(schedulable("node3")).toBe(true);
    expect(api!.pods().map((p) => p.name)).toContain("web-node3");
    expect(reported("node3")).toMatch(/^docker:\/\//);
    expect(await on("node3", "systemctl is-active cri-docker.socket; dpkg-query -W -f='${Status}' docker.io")).toBe(before);
    expect(await on("node3", "cat /etc/default/kubelet")).toBe(`KUBELET_EXTRA_ARGS=--container-runtime-endpoint=${SOCKETS.docker}`);
    scenarios.last().lost = "nothing: node3 is uncordoned on Docker, its pod still there";
  });

  it("node3: once the budget allows it, Docker Engine (Debian's docker.io, stand-in cri-dockerd) moves to containerd: KUBELET_EXTRA_ARGS repointed, Docker stopped and disabled, /var/lib/docker kept", async () => {
    api!.setPdb("default", "db", 1);
    const report = await scenarios.apply("node3: swap Docker to containerd", stack("node3", containerd("1.6.20"), { from: { kind: "docker" } }));
    expect(report.ok, failures(report)).toBe(true);
    expect(await on("node3", "cat /etc/default/kubelet")).toBe(`KUBELET_EXTRA_ARGS=--container-runtime-endpoint=${SOCKETS.containerd}`);
    expect(await on("node3", "for u in docker.service docker.socket cri-docker.service cri-docker.socket; do systemctl is-active $u; systemctl is-enabled $u; done | sort | uniq -c | awk '{print $1, $2}'")).toBe("4 disabled\n4 inactive");
    expect(await on("node3", "systemctl is-active containerd; test -d /var/lib/docker && echo kept")).toBe("active\nkept");
    expect(await on("node3", "containerd config dump | grep -c 'io.containerd.grpc.v1.cri'")).not.toBe("0");
    expect((await on("node3", "ctr -n k8s.io images ls -q")).split("\n")).toEqual(expect.arrayContaining([image("pause"), image("agent")]));
    expect(reported("node3")).toBe("containerd://1.6.20");
    expect(api!.node("node3").metadata.annotations[CRI_SOCKET]).toBe(SOCKETS.containerd);
    expect(schedulable("node3")).toBe(true);
    scenarios.last().lost = "nothing";
  });

  // Every place that can hold the endpoint, each alone: node2 (both runtimes installed now) swaps its
  // kubelet from CRI-O to containerd with only the repoint phase, from a record as preflight leaves it.
  const PLACES: { place: string; files: KubeletStandinFiles; check: string; expected: string }[] = [
    { place: "KUBELET_EXTRA_ARGS", files: { configYaml: KUBELET_CONFIG(), extraArgs: `KUBELET_EXTRA_ARGS="--container-runtime-endpoint=${SOCKETS.crio}"\n` }, check: "cat /etc/default/kubelet", expected: `KUBELET_EXTRA_ARGS="--container-runtime-endpoint=${SOCKETS.containerd}"` },
    { place: "kubeadm-flags.env", files: { configYaml: KUBELET_CONFIG(), kubeadmFlags: `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint ${SOCKETS.crio}"\n` }, check: "cat /var/lib/kubelet/kubeadm-flags.env", expected: `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=${SOCKETS.containerd}"` },
    { place: "--config-dir drop-in", files: { configYaml: KUBELET_CONFIG(), configDir: { "50-runtime.conf": `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncontainerRuntimeEndpoint: ${SOCKETS.crio}\n` } }, check: "grep containerRuntimeEndpoint /etc/kubernetes/kubelet.conf.d/50-runtime.conf", expected: `containerRuntimeEndpoint: "${SOCKETS.containerd}"` },
    { place: "config.yaml", files: { configYaml: KUBELET_CONFIG(SOCKETS.crio) }, check: "grep containerRuntimeEndpoint /var/lib/kubelet/config.yaml", expected: `containerRuntimeEndpoint: "${SOCKETS.containerd}"` },
  ];

  it.each(PLACES)("the endpoint set only in $place is repointed, and the kubelet uses it", async ({ files, check, expected }) => {
    const swapStack = stack("node2", containerd("1.6.20"), { from: { kind: "crio", version: CRIO_VERSION } });
    const plan = planCluster(validateStackConfig("swap", (await withCrictlStandin(swapStack)).config).config);
    const repoint = plan.nodes[0]!.steps.find((s) => s.id === SWAP_STEPS.repoint)!;
    const swapId = /KP_SWAP_ID='([0-9a-f]+)'/.exec(repoint.script)![1];
    await on("node2", "systemctl start containerd crio; rm -rf /etc/default/kubelet /var/lib/kubelet/kubeadm-flags.env /var/lib/kubelet/instance-config.yaml /etc/kubernetes/kubelet.conf.d /etc/systemd/system/kubelet.service.d/20-config-dir.conf");
    await kubeletOn("node2", files);
    await expect.poll(async () => (await on("node2", "cat /var/lib/kubelet/standin-status.json")).includes(`"endpoint":"${SOCKETS.crio}"`), { timeout: 20_000 }).toBe(true);
    await on("node2", `mkdir -p /var/lib/kubeplug/swap && printf 'SWAP_ID=${swapId}\\nSTATUS=prepulled\\nOLD_ENDPOINT=${SOCKETS.crio}\\nKUBELET_VERSION=1.35.0\\nANNOTATION=<none>\\n' >/var/lib/kubeplug/swap/state`);

    const run = await runSpec(bed!, "node2", repoint);
    expect(run.status, run.stderr).toBe("ok");
    expect(await on("node2", check)).toBe(expected);
    // kubeadm 1.34+ remembers the socket in instance-config.yaml: created for this 1.35 kubelet.
    expect(await on("node2", "cat /var/lib/kubelet/instance-config.yaml")).toBe(`containerRuntimeEndpoint: "${SOCKETS.containerd}"`);
    await on("node2", "systemctl restart kubelet");
    await expect.poll(async () => (await on("node2", "cat /var/lib/kubelet/standin-status.json")).includes(`"endpoint":"${SOCKETS.containerd}"`), { timeout: 20_000 }).toBe(true);
  });
});

