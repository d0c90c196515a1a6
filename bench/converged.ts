/**
 * What a converged node costs (issue 14, item 5): on 3 test nodes, containerd 1.6.20 from its release
 * tarball with runc, a docker.io mirror, crictl and the CNI plugins from their release tarballs, every
 * step applied once; then every step run again on every node (nodes in parallel, each node's steps
 * in order, one SSH session per step as a Command runs it) 3 times. Against the floor, measured in
 * the same run: one SSH session per node hashing config.toml and hosts.toml and checking the unit.
 * Prints the medians and their ratio (target: within 3x). Needs root and the test-bed tools; run it
 * under the e2e lock when others share the machine: `flock /tmp/kubeplug-e2e.lock npm run bench:converged`.
 *
 * The release tarballs are STAND-INS with the upstream layout (test/e2e/standins, testbed/mirror.ts):
 * none can be downloaded here.
 */
import yaml from "js-yaml";
import { parseStepResult } from "../src/components/node/node-step";
import { remoteCommand } from "../src/components/node/step";
import { parseStackFile } from "../src/config/stack";
import { planCluster, NodePlan } from "../src/plan/cluster-plan";
import { bedConnection, installLibrary } from "../test/e2e/harness/run-step";
import { sshExec } from "../test/e2e/harness/ssh-exec";
import { floorOnceMs, median } from "./floor";
import { waitForFreeBridge, withCrictlStandin } from "../test/e2e/harness/bed";
import { cniPluginsReleases, CNI_VERSIONS } from "../test/e2e/standins/artifacts";
import { containerdReleaseChecksums, startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "../test/e2e/testbed";

const RUNS = 3;
const NODES = testbedNodes(3);
async function benchStack(bed: Testbed): Promise<string> {
  const cni = await cniPluginsReleases();
  const stack = {
    config: {
      "kubeplug:cluster": {
        name: "bench",
        kubelet: { cgroupDriver: "systemd" },
        ssh: bed.stackSsh,
        downloads: {
          baseUrls: { containerd: `${bed.mirrorUrl}/releases/containerd`, "cni-plugins": cni.baseUrl },
          checksums: { containerd: await containerdReleaseChecksums(), "cni-plugins": cni.checksums },
        },
        pools: [
          {
            name: "rel",
            runtime: {
              kind: "containerd",
              version: "1.6.20",
              install: { from: "release" },
              registries: { hosts: { "docker.io": { mirrors: [{ url: `http://${bed.hostAddress}:5000`, capabilities: ["pull", "resolve"] }] } } },
            },
          },
        ],
        nodes: NODES.map((n, i) => ({ name: n.name, pool: "rel", address: n.address, podCIDR: `10.244.${i + 1}.0/24` })),
      },
      "kubeplug:network": {
        podCIDR: "10.244.0.0/16",
        cni: {
          plugins: { install: { from: "release", version: CNI_VERSIONS.old }, wanted: ["bridge", "host-local", "loopback", "portmap"] },
          conflists: [{ name: "bench", cniVersion: "1.0.0", plugins: [{ type: "bridge", bridge: "kp0", isGateway: true, ipam: { type: "host-local" } }] }],
        },
      },
    },
  };
  return yaml.dump(await withCrictlStandin(stack));
}

interface Round {
  ms: number;
  /** Per step id: the slowest node's time. */
  steps: Map<string, number>;
  changed: number;
}

/** Every step of every node once: nodes in parallel, each node's steps in plan order. */
async function round(bed: Testbed, nodes: readonly NodePlan[]): Promise<Round> {
  const steps = new Map<string, number>();
  let changed = 0;
  const started = performance.now();
  await Promise.all(
    nodes.map(async (node) => {
      for (const step of node.steps) {
        const t = performance.now();
        const result = await sshExec(bedConnection(bed, node.node.name), remoteCommand(step.script, "root"));
        const ms = performance.now() - t;
        if (result.exitCode !== 0) throw new Error(`${node.node.name}/${step.id} exited ${result.exitCode}: ${result.stderr.trim().split("\n").slice(-3).join(" | ")}`);
        const parsed = parseStepResult(result.stdout);
        changed += (parsed?.changed.length ?? 0) + (parsed?.restarted.length ?? 0);
        steps.set(step.id, Math.max(steps.get(step.id) ?? 0, ms));
      }
    }),
  );
  return { ms: performance.now() - started, steps, changed };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<number> {
  const skip = testbedUnavailableReason();
  if (skip) {
    console.error(`bench:converged needs the test bed: ${skip}`);
    return 1;
  }
  await waitForFreeBridge();
  const bed = await startTestbed({ nodes: NODES });
  try {
    const plan = planCluster(parseStackFile("bench", await benchStack(bed), "bench").config);
    await Promise.all(NODES.map((n) => installLibrary(bed, n.name)));
    const fresh = await round(bed, plan.nodes);
    console.log(`fresh apply (3 nodes, ${plan.nodes[0]!.steps.length} steps each): ${seconds(fresh.ms)}, ${fresh.changed} change(s)`);
    const converged: Round[] = [];
    const floors: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      floors.push(await floorOnceMs(bed));
      converged.push(await round(bed, plan.nodes));
    }
    const changes = converged.reduce((n, r) => n + r.changed, 0);
    const c = median(converged.map((r) => r.ms));
    const f = median(floors);
    console.log("\n| | run 1 | run 2 | run 3 | median |\n|---|---|---|---|---|");
    console.log(`| converged re-run, every step, 3 nodes | ${converged.map((r) => seconds(r.ms)).join(" | ")} | ${seconds(c)} |`);
    console.log(`| floor: one SSH session per node | ${floors.map(seconds).join(" | ")} | ${seconds(f)} |`);
    console.log(`\nconverged / floor: ${(c / f).toFixed(1)}x (target: within 3x); changes or restarts on the converged runs: ${changes}`);
    console.log("\nslowest node per step, median of the converged runs:");
    for (const id of plan.nodes[0]!.steps.map((s) => s.id)) console.log(`  ${id}: ${seconds(median(converged.map((r) => r.steps.get(id) ?? 0)))}`);
    return changes === 0 ? 0 : 1;
  } finally {
    await bed.stop();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
