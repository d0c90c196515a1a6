/**
 * Reads the PLAY RECAP an ansible-playbook run prints at its end:
 *
 *   PLAY RECAP *********************************************************
 *   node1                      : ok=56   changed=1    unreachable=0    failed=0    skipped=40   rescued=0    ignored=0
 */

export interface HostRecap {
  readonly ok: number;
  readonly changed: number;
  readonly unreachable: number;
  readonly failed: number;
  readonly skipped: number;
  readonly rescued: number;
  readonly ignored: number;
}

const COUNTERS = ["ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored"] as const;

/**
 * The counters of every host in the last PLAY RECAP of `output`, by host. Throws when there is no
 * recap, or a host line lacks a counter, so a run that died early is never read as "nothing changed".
 */
export function parseRecap(output: string): Record<string, HostRecap> {
  const lines = output.split("\n");
  const start = lines.map((line) => line.startsWith("PLAY RECAP ")).lastIndexOf(true);
  if (start < 0) throw new Error("no PLAY RECAP in the ansible-playbook output");
  const hosts: Record<string, HostRecap> = {};
  // The recap is the block of host lines after the header; callbacks (profile_tasks) print more after a blank line.
  for (const line of lines.slice(start + 1)) {
    const match = /^(\S+)\s+:\s+(\S.*?)\s*$/.exec(line);
    if (!match) break;
    const values = Object.fromEntries([...match[2]!.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    const missing = COUNTERS.filter((name) => values[name] === undefined);
    if (missing.length > 0) throw new Error(`PLAY RECAP line for ${match[1]} lacks ${missing.join(", ")}: ${line.trim()}`);
    const n = (name: (typeof COUNTERS)[number]) => values[name]!;
    hosts[match[1]!] = { ok: n("ok"), changed: n("changed"), unreachable: n("unreachable"), failed: n("failed"), skipped: n("skipped"), rescued: n("rescued"), ignored: n("ignored") };
  }
  if (Object.keys(hosts).length === 0) throw new Error("the PLAY RECAP lists no hosts");
  return hosts;
}
