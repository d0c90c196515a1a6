/**
 * kubeplug against kubespray, in one run (issue 14, item 4): on fresh test beds of 1 and 3 nodes,
 * a fresh install of containerd 1.6.20 from its release tarball, with runc, crictl and a docker.io
 * registry mirror, then converged re-runs with no change; once with kubeplug's rendered node steps
 * over SSH (nodes in parallel), once with kubespray v2.23.3's container-engine/containerd role under
 * Debian's ansible. Each (tool, size) gets a bed of its own, so every fresh install starts from the
 * same clean nodes. Prints both side by side with the ratios, kubeplug's converged time against the
 * one-round-trip floor, and the issue's targets, met or not. Needs root and the test-bed tools; run
 * it under the e2e lock: `flock /tmp/kubeplug-e2e.lock npm run bench:vs-kubespray`.
 *
 *   npm run bench:vs-kubespray [-- --nodes 1,3] [--runs 3] [--kubespray-runs N]   (kubespray's converged runs; default: --runs)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startTestbed, testbedNodes, testbedUnavailableReason, waitForFreeBridge, type Testbed } from "../../test/e2e/testbed";
import { planNodes, runKubeplug } from "./kubeplug";
import { ensureAnsible, KUBESPRAY_VERSION, kubesprayBed, unpackKubespray, type KubesprayTree } from "./kubespray";
import { benchArtifacts, VERSIONS, type BenchArtifacts } from "./standins";
import { floorOnceMs, median } from "../floor";
import { formatResults, type BedFigures, type RunFigure, type Tool } from "./table";


const log = (message: string) => console.error(`[vs-kubespray ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** What Ansible and kubespray's package tasks need on a node, and the directory its completion tasks write into; untimed, on every bed alike. */
async function prepareNode(bed: Testbed, node: Testbed["nodes"][number], artifacts: BenchArtifacts): Promise<void> {
  const script = [
    "set -euo pipefail",
    `echo 'deb [trusted=yes] ${artifacts.aptRepoUrl} ./' >/etc/apt/sources.list.d/kubeplug-bench.list`,
    "apt-get -q update >/dev/null",
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-apt >/dev/null",
    "mkdir -p /etc/bash_completion.d",
  ].join("\n");
  const result = await bed.ssh(node, "bash -s", { input: `${script}\n` });
  if (result.code !== 0) throw new Error(`${node.name}: preparing the node failed: ${result.stderr.trim()}`);
}

/** containerd's main PID on each node ("0" when it does not run). */
async function containerdPids(bed: Testbed): Promise<string[]> {
  return Promise.all(bed.nodes.map(async (node) => (await bed.ssh(node, "systemctl show -p MainPID --value containerd")).stdout.trim()));
}

async function restartsDuring(bed: Testbed, body: () => Promise<Omit<RunFigure, "restarts">>): Promise<RunFigure> {
  const before = await containerdPids(bed);
  const figure = await body();
  const after = await containerdPids(bed);
  return { ...figure, restarts: after.filter((pid, i) => pid !== before[i]).length };
}

async function floorMs(bed: Testbed, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await floorOnceMs(bed));
  return median(times);
}

async function measureKubeplug(bed: Testbed, artifacts: BenchArtifacts, runs: number): Promise<Omit<BedFigures, "tool" | "nodes">> {
  const nodes = planNodes(bed, artifacts);
  const once = () =>
    restartsDuring(bed, async () => {
      const run = await runKubeplug(bed, nodes);
      return { ms: run.ms, changed: run.changed.length, reportedRestarts: run.restarted.length };
    });
  const fresh = await once();
  const converged: RunFigure[] = [];
  for (let i = 0; i < runs; i++) converged.push(await once());
  return { fresh, converged, floorMs: await floorMs(bed, runs) };
}

async function measureKubespray(bed: Testbed, artifacts: BenchArtifacts, tree: KubesprayTree, work: string, runs: number): Promise<Omit<BedFigures, "tool" | "nodes">> {
  const spray = kubesprayBed(tree, bed, artifacts, work);
  try {
    const once = () =>
      restartsDuring(bed, async () => {
        const run = await spray.run();
        return { ms: run.ms, changed: Object.values(run.recap).reduce((n, host) => n + host.changed, 0) };
      });
    const fresh = await once();
    const converged: RunFigure[] = [];
    for (let i = 0; i < runs; i++) converged.push(await once());
    return { fresh, converged };
  } finally {
    await spray.close();
  }
}

async function measure(tool: Tool, nodes: number, artifacts: BenchArtifacts, tree: KubesprayTree, work: string, runs: number): Promise<BedFigures> {
  await waitForFreeBridge();
  log(`${tool}, ${nodes} node(s): booting a bed`);
  const bed = await startTestbed({ nodes: testbedNodes(nodes) });
  try {
    await Promise.all(bed.nodes.map((node) => prepareNode(bed, node, artifacts)));
    log(`${tool}, ${nodes} node(s): fresh install, then ${runs} converged runs`);
    const figures = tool === "kubeplug" ? await measureKubeplug(bed, artifacts, runs) : await measureKubespray(bed, artifacts, tree, join(work, `${tool}-${nodes}`), runs);
    const figure = (run: RunFigure) => `${(run.ms / 1000).toFixed(2)} s (changed ${run.changed}, restarts ${run.restarts}${run.reportedRestarts === undefined ? "" : `, reported ${run.reportedRestarts}`})`;
    log(`${tool}, ${nodes} node(s): fresh ${figure(figures.fresh)}; converged ${figures.converged.map(figure).join(" / ")}${figures.floorMs === undefined ? "" : `; floor ${(figures.floorMs / 1000).toFixed(2)} s`}`);
    return { tool, nodes, ...figures };
  } finally {
    await bed.stop();
  }
}

const uptime = () => execFileSync("uptime", { encoding: "utf8" }).trim();

async function main(): Promise<void> {
  const options = { nodes: { type: "string", default: "1,3" }, runs: { type: "string", default: "3" }, "kubespray-runs": { type: "string" } } as const;
  const { values } = parseArgs({ options, strict: true });
  const sizes = values.nodes.split(",").map(Number);
  const runs = { kubeplug: Number(values.runs), kubespray: Number(values["kubespray-runs"] ?? values.runs) };
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 9) || Object.values(runs).some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error("usage: --nodes 1,3 (1 to 9 each) --runs N [--kubespray-runs M] (converged runs, each ≥ 1; kubespray's default to N)");
  }
  const unavailable = testbedUnavailableReason();
  if (unavailable) throw new Error(`cannot run: ${unavailable}`);
  const ansible = await ensureAnsible();
  const artifacts = await benchArtifacts();
  const work = mkdtempSync(join(tmpdir(), "kubeplug-vs-kubespray-"));
  try {
    const tree = await unpackKubespray(work);
    const loadBefore = uptime();
    const beds: BedFigures[] = [];
    for (const nodes of sizes) for (const tool of ["kubespray", "kubeplug"] as const) beds.push(await measure(tool, nodes, artifacts, tree, work, runs[tool]));
    const loadAfter = uptime();
    console.log(
      [
        `kubeplug vs kubespray v${KUBESPRAY_VERSION} (container-engine/containerd under ${ansible}), same run, fresh test beds per tool and size.`,
        `Installed: containerd ${VERSIONS.containerd}, runc ${VERSIONS.runc}, crictl ${VERSIONS.crictl} (kubespray also nerdctl ${VERSIONS.nerdctl}), docker.io mirror; converged = re-runs with no change (kubeplug ${runs.kubeplug}, kubespray ${runs.kubespray}).`,
        "Release files are STAND-INS with the upstream layout (containerd and runc built from Debian's binaries; crictl and nerdctl are scripts), served by the bed's mirror with their own sha256.",
        `Load before: ${loadBefore}`,
        `Load after:  ${loadAfter}`,
        "",
      ].join("\n"),
    );
    console.log(formatResults(beds));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
