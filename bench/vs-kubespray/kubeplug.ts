/**
 * kubeplug's side: the bench stack's rendered node steps, run over SSH as their Commands would
 * (harness/run-step.ts), one SSH session per step, steps in plan order on a node, nodes in parallel.
 * Each node first gets its step library, as its NodeLibrary would; a re-run installs nothing.
 */
import { readFileSync } from "node:fs";
import { parseStepResult } from "../../src/components/node/node-step";
import { remoteCommand } from "../../src/components/node/step";
import { validateStackConfig } from "../../src/config/stack";
import { planCluster, type NodePlan } from "../../src/plan/cluster-plan";
import { installLibrary } from "../../test/e2e/harness/run-step";
import { sshExec } from "../../test/e2e/harness/ssh-exec";
import type { Testbed } from "../../test/e2e/testbed";
import { VERSIONS, type BenchArtifacts } from "./standins";

/** The registry mirror both tools configure for docker.io (nothing needs to answer there: no image is pulled). */
export const MIRROR = "http://10.231.0.1:5000";

/** The stack: containerd from its release tarball, runc and crictl from theirs, a docker.io mirror. */
export function benchStack(bed: Testbed, artifacts: BenchArtifacts): Record<string, unknown> {
  const { files } = artifacts;
  const checksum = (name: "containerd" | "runc" | "crictl") => ({ [VERSIONS[name]]: { amd64: `sha256:${files[name].sha256}` } });
  return {
    "kubeplug:cluster": {
      name: "vs-kubespray",
      kubelet: { cgroupDriver: "systemd" },
      ssh: bed.stackSsh,
      downloads: {
        baseUrls: { containerd: files.containerd.baseUrl, runc: files.runc.baseUrl, crictl: files.crictl.baseUrl },
        checksums: { containerd: checksum("containerd"), runc: checksum("runc"), crictl: checksum("crictl") },
      },
      pools: [
        {
          name: "bench",
          runtime: {
            kind: "containerd",
            version: VERSIONS.containerd,
            install: { from: "release" },
            runtimes: { runc: { engine: "runc", install: { from: "release", version: VERSIONS.runc } } },
            crictl: { from: "release", version: VERSIONS.crictl },
            registries: { hosts: { "docker.io": { mirrors: [{ url: MIRROR, capabilities: ["pull", "resolve"] }] } } },
          },
        },
      ],
      nodes: bed.nodes.map((node, i) => ({ name: node.name, pool: "bench", address: node.address, podCIDR: `10.244.${i + 1}.0/24` })),
    },
  };
}

export interface KubeplugRun {
  readonly ms: number;
  /** Step results that changed something, as `node/step: what`, and the daemons restarted, as `node/step: unit`. */
  readonly changed: readonly string[];
  readonly restarted: readonly string[];
  readonly steps: number;
}

export function planNodes(bed: Testbed, artifacts: BenchArtifacts): readonly NodePlan[] {
  return planCluster(validateStackConfig("vs-kubespray", benchStack(bed, artifacts)).config).nodes;
}

/** Runs every step of every node; throws on the first step that fails, naming it and its stderr. */
export async function runKubeplug(bed: Testbed, nodes: readonly NodePlan[]): Promise<KubeplugRun> {
  const privateKey = readFileSync(bed.keyPath, "utf8");
  const changed: string[] = [];
  const restarted: string[] = [];
  const started = process.hrtime.bigint();
  const runs = await Promise.allSettled(
    nodes.map(async (plan) => {
      await installLibrary(bed, plan.node.name);
      for (const step of plan.steps) {
        const result = await sshExec({ host: plan.connection.host, user: plan.connection.user, privateKey }, remoteCommand(step.script, "root"));
        if (result.exitCode !== 0) throw new Error(`${plan.node.name}/${step.id} exited with ${result.exitCode}: ${result.stderr.trim()}`);
        const parsed = parseStepResult(result.stdout);
        if (!parsed) throw new Error(`${plan.node.name}/${step.id} printed no KUBEPLUG_RESULT line`);
        changed.push(...parsed.changed.map((what) => `${plan.node.name}/${step.id}: ${what}`));
        restarted.push(...parsed.restarted.map((unit) => `${plan.node.name}/${step.id}: ${unit}`));
      }
    }),
  );
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  // Every node's run settles first, so no session is still open when the caller stops the bed.
  const failed = runs.find((run) => run.status === "rejected");
  if (failed) throw failed.reason;
  return { ms, changed, restarted, steps: nodes.reduce((n, plan) => n + plan.steps.length, 0) };
}
