import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { remoteCommand } from "../../src/components/node/step";
import { ContainerdRuntimeArgs } from "../../src/components/runtime/containerd";
import { CrioRuntimeArgs } from "../../src/components/runtime/crio";
import { ClusterPlan } from "../../src/plan/cluster-plan";

// A stack file's settings as the Args of the standalone components, to compare both paths.

export const root = join(__dirname, "..", "..");
/** A well-formed ssh-ed25519 key that belongs to no host (it decodes to "mock-host-key-golden"). */
export const STAND_IN_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2staG9zdC1rZXktZ29sZGVuLi4uLi4uLi4uLi4u";
export type RawStack = Record<string, any>;
export const rawStack = (file: string): RawStack => (yaml.load(readFileSync(join(root, file), "utf8")) as { config: RawStack }).config;

/** A stack's first pool as the Args of its runtime component (name the component after the pool), each node reached at its stack address. */
export function runtimeArgs(stack: RawStack): ContainerdRuntimeArgs & CrioRuntimeArgs {
  const cluster = stack["kubeplug:cluster"];
  const pool = cluster.pools[0];
  const { kind: _kind, ...config } = pool.runtime;
  return {
    nodes: cluster.nodes
      .filter((n: { pool: string }) => n.pool === pool.name)
      .map((n: { name: string; address: string; arch?: "amd64" | "arm64" }) => ({ name: n.name, ...(n.arch ? { arch: n.arch } : {}), connection: { host: n.address, privateKey: pulumi.secret("stand-in key"), hostKey: STAND_IN_HOST_KEY } })),
    config,
    ...(cluster.kubelet ? { kubeletCgroupDriver: cluster.kubelet.cgroupDriver } : {}),
    ...(cluster.downloads ? { downloads: cluster.downloads } : {}),
    ...(pool.virtualization !== undefined ? { virtualization: pool.virtualization } : {}),
    secrets: { "config:pullPassword": pulumi.secret("stand-in password") },
  };
}

/** The scripts a plan gives each node, in the form the Command runs them. */
export function plannedCommands(plan: ClusterPlan, group: "runtime" | "network"): Record<string, string> {
  return Object.fromEntries(plan.nodes.flatMap((n) => n.steps.filter((s) => s.group === group).map((s) => [`${n.node.name}-${s.id}`, remoteCommand(s.script, "root")])));
}

