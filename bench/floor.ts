/**
 * The least a converged check of a containerd node can cost, which the benches hold kubeplug's
 * converged runs against: one SSH session per node, nodes in parallel, dialled as kubeplug's steps
 * dial (ssh2), hashing config.toml and hosts.toml and checking the unit.
 */
import { readFileSync } from "node:fs";
import { sshExec } from "../test/e2e/harness/ssh-exec";
import type { Testbed } from "../test/e2e/testbed";

export const FLOOR_COMMAND = "sha256sum /etc/containerd/config.toml /etc/containerd/certs.d/docker.io/hosts.toml >/dev/null && systemctl is-active --quiet containerd && systemctl is-enabled --quiet containerd";

/** One round of the floor on every node of the bed, in milliseconds. */
export async function floorOnceMs(bed: Testbed): Promise<number> {
  const privateKey = readFileSync(bed.keyPath, "utf8");
  const started = process.hrtime.bigint();
  const results = await Promise.all(bed.nodes.map((node) => sshExec({ host: node.address, user: "root", privateKey }, FLOOR_COMMAND)));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const failed = results.findIndex((r) => r.exitCode !== 0);
  if (failed >= 0) throw new Error(`${bed.nodes[failed]!.name}: the floor check failed (${results[failed]!.exitCode}): ${results[failed]!.stderr.trim()}`);
  return ms;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
