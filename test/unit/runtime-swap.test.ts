import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SWAP_STEPS } from "../../src/components/runtime/runtime-swap";
import { validateStackConfig } from "../../src/config/stack";
import { ClusterPlan, planCluster } from "../../src/plan/cluster-plan";
import { formatPlan } from "../../src/plan/format";
import { drainWaits, planWaves, waveSize } from "../../src/plan/swap-plan";
import { MOCK_HOST_KEY } from "../support/stack-yaml";

const WORKERS = Array.from({ length: 7 }, (_, i) => ({ name: `w${i + 1}`, pool: "workers", address: `192.0.2.${i + 1}` }));
const CONTROL = [1, 2].map((i) => ({ name: `cp${i}`, pool: "control", address: `192.0.2.${100 + i}`, roles: ["control-plane"] }));

/** 7 workers moving from containerd 1.6 to 2.1 two at a time, and two control-plane nodes after them. */
const SWAP = { from: { kind: "containerd", version: "1.6.20" } };
const VALUES = {
  "kubeplug:cluster": {
    name: "t",
    ssh: { privateKeyPath: "k", hostKey: MOCK_HOST_KEY },
    pools: [
      { name: "control", runtime: { kind: "containerd", version: "2.1.9" }, swap: SWAP },
      { name: "workers", runtime: { kind: "containerd", version: "2.1.9" }, swap: { ...SWAP, maxUnavailable: 2 } },
    ],
    nodes: [...CONTROL, ...WORKERS],
  },
};

function swapPlan(): ClusterPlan {
  return planCluster(validateStackConfig("t", VALUES).config);
}

describe("runtime swap waves", () => {
  it("7 workers with maxUnavailable 2 swap in 4 waves; control-plane nodes follow one at a time", () => {
    const plan = swapPlan();
    const workers = plan.swaps.find((s) => s.pool === "workers")!;
    expect(workers.waves.map((w) => w.nodes)).toEqual([["w1", "w2"], ["w3", "w4"], ["w5", "w6"], ["w7"]]);
    expect(plan.swaps.find((s) => s.pool === "control")!.waves).toEqual([
      { number: 1, nodes: ["cp1"], controlPlane: true },
      { number: 2, nodes: ["cp2"], controlPlane: true },
    ]);
  });

  it("a percent counts the pool's workers, rounded down, at least one", () => {
    expect(waveSize("50%", 7)).toBe(3);
    expect(waveSize("10%", 7)).toBe(1);
    expect(waveSize("100%", 7)).toBe(7);
    expect(waveSize(2, 7)).toBe(2);
    expect(planWaves(WORKERS.map((w) => ({ ...w, arch: "amd64", labels: {}, roles: ["worker"] })) as never, 3).map((w) => w.nodes.length)).toEqual([3, 3, 1]);
  });

  it("each drain waits for every preflight, the previous wave of its pool, and control planes for every worker wave", () => {
    const plan = swapPlan();
    const waits = drainWaits(plan.swaps);
    const finished = (ref: { step: string }) => ref.step === SWAP_STEPS.start;
    const names = (node: string) => waits.get(node)!.filter(finished).map((r) => r.node);
    expect(names("w1")).toEqual([]);
    expect(names("w3")).toEqual(["w1", "w2"]);
    expect(names("w7")).toEqual(["w5", "w6"]);
    expect(names("cp1")).toEqual(["w7"]);
    expect(names("cp2")).toEqual(["cp1"]);
    expect(waits.get("w1")!.filter((r) => r.step === SWAP_STEPS.preflight).map((r) => r.node).sort()).toEqual(["cp1", "cp2", "w2", "w3", "w4", "w5", "w6", "w7"]);
  });

  it("a node's steps: preparation, preflight, drain, stop-old, the new runtime's install and configure, prepull, repoint, start", () => {
    const node = swapPlan().nodes.find((n) => n.node.name === "w3")!;
    expect(node.steps.map((s) => s.id)).toEqual([
      "node-prepare",
      "swap-preflight",
      "swap-drain",
      "swap-stop-old",
      "oci-runtimes-install",
      "containerd-install",
      "crictl-install",
      "containerd-configure",
      "swap-prepull",
      "swap-repoint",
      "swap-start",
    ]);
    const byId = Object.fromEntries(node.steps.map((s) => [s.id, s]));
    expect(byId["containerd-install"]!.dependsOn).toEqual(["swap-stop-old"]);
    expect(byId["swap-prepull"]!.dependsOn).toEqual(["oci-runtimes-install", "containerd-install", "crictl-install", "containerd-configure"]);
    expect(byId["swap-drain"]!.waitsFor!.filter((r) => r.step === SWAP_STEPS.start)).toEqual([{ node: "w1", step: "swap-start" }, { node: "w2", step: "swap-start" }]);
    expect(byId["swap-drain"]!.script).toContain("KP_SWAP_WAVE='2/4'");
  });

  it("a pool without swap has no swap steps", () => {
    const plan = planCluster(validateStackConfig("t", { "kubeplug:cluster": { name: "t", ssh: { privateKeyPath: "k", hostKey: MOCK_HOST_KEY }, pools: [{ name: "p", runtime: { kind: "containerd", version: "2.1.9" } }], nodes: [{ name: "n1", pool: "p", address: "192.0.2.1" }] } }).config);
    expect(plan.swaps).toEqual([]);
    expect(plan.nodes[0]!.steps.some((s) => s.id.startsWith("swap-"))).toBe(false);
  });

  it("the render plan shows old -> new, the waves with their nodes, the phases and what is kept", () => {
    const text = formatPlan(swapPlan(), { hadPrevious: false, changes: new Map() }, [], "out").text;
    expect(text).toContain("runtime swap: containerd 1.6.20 (unix:///run/containerd/containerd.sock) -> containerd 2.1.9 (config version 3) (unix:///run/containerd/containerd.sock), 4 wave(s) of at most 2 worker(s)");
    expect(text).toContain("    wave 2: w3, w4\n");
    expect(text).toContain("    wave 1 (control plane): cp1\n");
    expect(text).toContain("phases per node: node-prepare -> swap-preflight -> swap-drain -> swap-stop-old -> oci-runtimes-install -> containerd-install -> crictl-install -> containerd-configure -> swap-prepull -> swap-repoint -> swap-start");
    expect(text).toContain("/var/lib/kubeplug/swap/runtime-files.tar");
  });
});

/** The order the Pulumi SDK registers the Cluster's Commands in, under mocks (test/support/engine-order.ts). */
function engineOrder(values: Record<string, unknown>, failing?: string): { started: string[]; finished: Record<string, number> } {
  const out = execFileSync(join(__dirname, "..", "..", "node_modules", ".bin", "tsx"), [join(__dirname, "..", "support", "engine-order.ts")], {
    env: { ...process.env, KUBEPLUG_STACK_VALUES: JSON.stringify(values), ...(failing ? { KUBEPLUG_FAIL: failing } : {}) },
    encoding: "utf8",
  });
  return JSON.parse(out);
}

describe("runtime swap waves, as the Pulumi SDK orders them under mocks (a stand-in for the engine)", () => {
  it("no drain of a wave starts before every node of the previous wave has finished its swap", { timeout: 60_000 }, () => {
    const { started, finished } = engineOrder(VALUES);
    const startedAt = (name: string) => started.indexOf(name);
    // 11 steps per node, each after its node's step library install.
    expect(started).toHaveLength(9 * 12);
    const order = ["w1", "w3", "w5", "w7", "cp1", "cp2"];
    const previous: Record<string, string[]> = { w3: ["w1", "w2"], w5: ["w3", "w4"], w7: ["w5", "w6"], cp1: ["w7"], cp2: ["cp1"] };
    for (const node of order.slice(1)) {
      const drainStart = startedAt(`${node}-swap-drain`);
      for (const before of previous[node]!) {
        expect(finished[`${before}-swap-start`]).toBeDefined();
        expect(started.slice(0, drainStart)).toContain(`${before}-swap-start`);
      }
    }
  });

  it("a node that fails in wave 2 stops waves 3 and 4 and the control planes; its wave partner and wave 1 finish", { timeout: 60_000 }, () => {
    const { started, finished } = engineOrder(VALUES, "w3-swap-stop-old");
    for (const node of ["w1", "w2", "w4"]) expect(finished[`${node}-swap-start`]).toBeDefined();
    for (const node of ["w5", "w6", "w7", "cp1", "cp2"]) expect(started).not.toContain(`${node}-swap-drain`);
    expect(started.filter((s) => s.startsWith("w3-"))).not.toContain("w3-containerd-install");
  });
});
