import { median } from "../floor";
/**
 * The bench's printed result: both tools side by side, the ratios, and the issue's targets (issue
 * 14, items 4 and 5), each marked met or not from the figures themselves.
 */

export type Tool = "kubespray" | "kubeplug";

/** One timed run of a tool on a bed. */
export interface RunFigure {
  readonly ms: number;
  /** kubespray: the sum of `changed=` over the recap's hosts; kubeplug: the changes its steps' KUBEPLUG_RESULT lines report. */
  readonly changed: number;
  /** Nodes whose containerd main PID differs after the run (a restart, whichever tool did it). */
  readonly restarts: number;
  /** kubeplug: the restarts its steps report; kubespray reports none of its own. */
  readonly reportedRestarts?: number;
}

export interface BedFigures {
  readonly tool: Tool;
  readonly nodes: number;
  readonly fresh: RunFigure;
  readonly converged: readonly RunFigure[];
  /** kubeplug beds: one SSH session per node (nodes in parallel) hashing config.toml and hosts.toml and checking the unit; median of its runs. */
  readonly floorMs?: number;
}

export { median };

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ratio = (x: number) => `${x.toFixed(1)}×`;
const convergedMedian = (bed: BedFigures) => median(bed.converged.map((run) => run.ms));

const bedSizes = (beds: readonly BedFigures[]) => [...new Set(beds.map((bed) => bed.nodes))].sort((a, b) => a - b);

function find(beds: readonly BedFigures[], tool: Tool, nodes: number): BedFigures | undefined {
  return beds.find((bed) => bed.tool === tool && bed.nodes === nodes);
}

function restarts(run: RunFigure): string {
  return run.reportedRestarts === undefined ? String(run.restarts) : `${run.restarts} (reported ${run.reportedRestarts})`;
}

function sideBySide(beds: readonly BedFigures[]): string[] {
  const rows = beds.map((bed) =>
    [
      bed.tool,
      bed.nodes,
      seconds(bed.fresh.ms),
      bed.fresh.changed,
      bed.converged.map((run) => seconds(run.ms)).join(" / "),
      seconds(convergedMedian(bed)),
      bed.converged.map((run) => run.changed).join(" / "),
      bed.converged.map(restarts).join(" / "),
    ].join(" | "),
  );
  return [
    "| tool | nodes | fresh | changed (fresh) | converged runs | converged median | changed (converged) | containerd restarts (converged) |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((row) => `| ${row} |`),
  ];
}

interface Target {
  readonly target: string;
  readonly figure: string;
  readonly met: boolean;
}

/** The issue's targets that the figures at hand can answer; a target whose beds did not run is left out. */
export function targets(beds: readonly BedFigures[]): Target[] {
  const out: Target[] = [];
  for (const nodes of bedSizes(beds)) {
    const spray = find(beds, "kubespray", nodes);
    const plug = find(beds, "kubeplug", nodes);
    if (spray && plug) {
      const speedup = convergedMedian(spray) / convergedMedian(plug);
      out.push({ target: `${nodes} node(s): kubeplug's converged re-run ≥ 20× faster than kubespray's`, figure: ratio(speedup), met: speedup >= 20 });
      out.push({ target: `${nodes} node(s): kubeplug's fresh install no slower than kubespray's`, figure: `${seconds(plug.fresh.ms)} vs ${seconds(spray.fresh.ms)}`, met: plug.fresh.ms <= spray.fresh.ms });
    }
    if (plug) {
      const runs = plug.converged;
      const changed = runs.reduce((n, run) => n + run.changed, 0);
      const restarted = runs.reduce((n, run) => n + run.restarts + (run.reportedRestarts ?? 0), 0);
      out.push({ target: `${nodes} node(s): kubeplug's converged runs change nothing and restart nothing`, figure: `changed ${changed}, restarts ${restarted} over ${runs.length} runs`, met: changed === 0 && restarted === 0 });
      if (plug.floorMs !== undefined && nodes > 1) {
        const overFloor = convergedMedian(plug) / plug.floorMs;
        out.push({ target: `${nodes} nodes: kubeplug's converged re-run of every step within 3× of the one-round-trip floor`, figure: `${ratio(overFloor)} (${seconds(convergedMedian(plug))} vs ${seconds(plug.floorMs)})`, met: overFloor <= 3 });
      }
    }
  }
  const one = find(beds, "kubeplug", 1);
  const three = find(beds, "kubeplug", 3);
  if (one && three) {
    for (const [what, a, b] of [["fresh", one.fresh.ms, three.fresh.ms], ["converged", convergedMedian(one), convergedMedian(three)]] as const) {
      out.push({ target: `kubeplug ${what}: 3 nodes within 1.5× of 1 node`, figure: ratio(b / a), met: b / a <= 1.5 });
    }
  }
  return out;
}

/** The whole printed result, as Markdown. */
export function formatResults(beds: readonly BedFigures[]): string {
  const sizes = bedSizes(beds);
  const lines = [...sideBySide(beds), "", `| ratio | ${sizes.map((n) => `${n} node(s)`).join(" | ")} |`];
  lines.push(`|---|${sizes.map(() => "---|").join("")}`);
  const row = (label: string, value: (nodes: number) => number | undefined) => {
    const cells = sizes.map((nodes) => {
      const v = value(nodes);
      return v === undefined ? "–" : ratio(v);
    });
    lines.push(`| ${label} | ${cells.join(" | ")} |`);
  };
  const both = (nodes: number, f: (spray: BedFigures, plug: BedFigures) => number) => {
    const spray = find(beds, "kubespray", nodes);
    const plug = find(beds, "kubeplug", nodes);
    return spray && plug ? f(spray, plug) : undefined;
  };
  row("converged, kubespray / kubeplug (medians)", (n) => both(n, (spray, plug) => convergedMedian(spray) / convergedMedian(plug)));
  row("fresh, kubespray / kubeplug", (n) => both(n, (spray, plug) => spray.fresh.ms / plug.fresh.ms));
  row("kubeplug converged / one-round-trip floor", (n) => {
    const plug = find(beds, "kubeplug", n);
    return plug?.floorMs === undefined ? undefined : convergedMedian(plug) / plug.floorMs;
  });
  const floors = beds.filter((bed) => bed.floorMs !== undefined).map((bed) => `${bed.nodes} node(s) ${seconds(bed.floorMs!)}`);
  if (floors.length > 0) lines.push("", `One-round-trip floor (one SSH session per node, in parallel: sha256sum of config.toml and hosts.toml, systemctl is-active and is-enabled containerd): ${floors.join(", ")}.`);
  if (sizes.includes(1) && sizes.includes(3)) {
    lines.push("", "| 3 nodes / 1 node | fresh | converged (medians) |", "|---|---|---|");
    for (const tool of ["kubespray", "kubeplug"] as const) {
      const one = find(beds, tool, 1);
      const three = find(beds, tool, 3);
      if (one && three) lines.push(`| ${tool} | ${ratio(three.fresh.ms / one.fresh.ms)} | ${ratio(convergedMedian(three) / convergedMedian(one))} |`);
    }
  }
  lines.push("", "| target (issue 14) | figure | met |", "|---|---|---|");
  for (const t of targets(beds)) lines.push(`| ${t.target} | ${t.figure} | ${t.met ? "yes" : "**no**"} |`);
  return `${lines.join("\n")}\n`;
}
