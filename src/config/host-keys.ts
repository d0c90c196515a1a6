/**
 * How each node's and each bastion's host key is checked. Every host needs one of: a pinned
 * `hostKey`, a `knownHostsFile` kubeplug reads, or the named opt-out `insecureSkipHostKeyCheck: true`
 * for throwaway labs, which warns on every render and every pulumi up. The most specific setting
 * wins: a node's own ssh before kubeplug:cluster.ssh; within one, a setting may not name two ways.
 * Pure: the known_hosts file itself is read by preflight (src/plan/preflight.ts).
 */
import { ClusterConfig } from "./cluster";
import { Locator } from "./findings";

export type HostKeyCheck =
  /** A key written in the stack. */
  | { readonly kind: "pinned"; readonly hostKey: string }
  /** The key a known_hosts file gives; `at` is the knownHostsFile field. */
  | { readonly kind: "known-hosts"; readonly file: string; readonly at: readonly PropertyKey[] }
  /** Not checked; `at` is the insecureSkipHostKeyCheck field that says so. */
  | { readonly kind: "unchecked"; readonly at: readonly PropertyKey[] }
  | { readonly kind: "missing" };

export interface NodeHostKeyChecks {
  readonly node: HostKeyCheck;
  /** The node's bastion, if any: where it is written (segments under kubeplug:cluster) and its check. */
  readonly bastion?: { readonly at: readonly PropertyKey[]; readonly host: string; readonly check: HostKeyCheck };
}

type Level = { readonly ssh: Partial<Record<"hostKey" | "knownHostsFile" | "insecureSkipHostKeyCheck", unknown>> | undefined; readonly at: readonly PropertyKey[] };

const levels = (cluster: ClusterConfig, index: number): Level[] => [
  { ssh: cluster.nodes[index]!.ssh, at: ["nodes", index, "ssh"] },
  { ssh: cluster.ssh, at: ["ssh"] },
];

/** The first level that says anything decides; `hostKey` counts only for the node itself (a bastion has its own). */
function decide(levelList: readonly Level[], useHostKey: boolean): HostKeyCheck {
  for (const { ssh, at } of levelList) {
    if (!ssh) continue;
    if (useHostKey && typeof ssh.hostKey === "string") return { kind: "pinned", hostKey: ssh.hostKey };
    if (ssh.insecureSkipHostKeyCheck === true) return { kind: "unchecked", at: [...at, "insecureSkipHostKeyCheck"] };
    if (typeof ssh.knownHostsFile === "string") return { kind: "known-hosts", file: ssh.knownHostsFile, at: [...at, "knownHostsFile"] };
  }
  return { kind: "missing" };
}

/** How node `index` and its bastion are checked. */
export function nodeHostKeyChecks(cluster: ClusterConfig, index: number): NodeHostKeyChecks {
  const node = cluster.nodes[index]!;
  const list = levels(cluster, index);
  // A node's bastion replaces the cluster's whole (ssh settings merge key by key).
  const bastion = node.ssh?.bastion ?? cluster.ssh.bastion;
  if (!bastion) return { node: decide(list, true) };
  const bastionAt: PropertyKey[] = node.ssh?.bastion ? ["nodes", index, "ssh", "bastion"] : ["ssh", "bastion"];
  const check: HostKeyCheck = bastion.hostKey ? { kind: "pinned", hostKey: bastion.hostKey } : decide(list, false);
  return { node: decide(list, true), bastion: { at: bastionAt, host: bastion.address, check } };
}

const WAYS = ["hostKey", "knownHostsFile", "insecureSkipHostKeyCheck"] as const;

/** Every node and bastion has a check; no settings block names two; each opt-out in use is a warning naming the hosts it leaves open. */
export function checkHostKeys(cluster: ClusterConfig, at: Locator): void {
  const blocks: Level[] = [{ ssh: cluster.ssh, at: ["ssh"] }, ...cluster.nodes.map((n, i) => ({ ssh: n.ssh, at: ["nodes", i, "ssh"] }))];
  for (const { ssh, at: segments } of blocks) {
    const named = WAYS.filter((way) => (way === "insecureSkipHostKeyCheck" ? ssh?.[way] === true : ssh?.[way] !== undefined));
    if (named.length > 1) {
      at.child(...segments).problem(`${named.map((w) => (w === "insecureSkipHostKeyCheck" ? "insecureSkipHostKeyCheck: true" : w)).join(" and ")} are both set; set one: each is a way to check host keys`);
    }
  }
  const unchecked = new Map<string, { at: readonly PropertyKey[]; hosts: string[] }>();
  const leaveOpen = (check: HostKeyCheck, host: string) => {
    if (check.kind !== "unchecked") return;
    const key = at.child(...check.at).path;
    const entry = unchecked.get(key) ?? { at: check.at, hosts: [] };
    if (!entry.hosts.includes(host)) entry.hosts.push(host);
    unchecked.set(key, entry);
  };
  const reportedBastions = new Set<string>();
  cluster.nodes.forEach((node, i) => {
    const checks = nodeHostKeyChecks(cluster, i);
    if (checks.node.kind === "missing") {
      at.child("nodes", i, "ssh").problem(
        "no host key check: pin hostKey, or set knownHostsFile, here or in kubeplug:cluster.ssh (or, for a throwaway lab only, insecureSkipHostKeyCheck: true)",
      );
    }
    leaveOpen(checks.node, `${node.name} (${node.address})`);
    const bastion = checks.bastion;
    if (!bastion) return;
    leaveOpen(bastion.check, `the bastion ${bastion.host}`);
    const here = at.child(...bastion.at);
    if (bastion.check.kind === "missing" && !reportedBastions.has(here.path)) {
      reportedBastions.add(here.path);
      const where = bastion.at[0] === "nodes" ? "in this node's ssh or in kubeplug:cluster.ssh" : "in kubeplug:cluster.ssh";
      here.problem(`no host key check for the bastion: pin its hostKey here, or set knownHostsFile ${where} (or, for a throwaway lab only, insecureSkipHostKeyCheck: true)`);
    }
  });
  for (const { at: segments, hosts } of unchecked.values()) {
    at.child(...segments).warn(
      `host keys are not checked for ${hosts.join(", ")}: whoever answers at these addresses gets root commands and registry credentials; for throwaway labs only`,
    );
  }
}
