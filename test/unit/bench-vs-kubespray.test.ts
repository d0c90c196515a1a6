import { describe, expect, it } from "vitest";
import { parseRecap } from "../../bench/vs-kubespray/recap";
import { formatResults, median, targets, type BedFigures } from "../../bench/vs-kubespray/table";

// The end of an ansible-playbook run with kubespray's ansible.cfg (profile_tasks prints after the recap).
const OUTPUT = `TASK [container-engine/containerd : Containerd | Ensure containerd is started and enabled] ***
ok: [node1]
ok: [node2]

PLAY RECAP *********************************************************************
node1                      : ok=58   changed=1    unreachable=0    failed=0    skipped=41   rescued=0    ignored=0
node2                      : ok=57   changed=0    unreachable=0    failed=0    skipped=41   rescued=0    ignored=0

Tuesday 08 December 2026  00:40:11 +0000 (0:00:00.912)       0:00:26.101 ******
===============================================================================
container-engine/containerd : Containerd | Unpack containerd archive ---- 2.10s
`;

describe("parseRecap", () => {
  it("reads every host's counters from the recap, not from the profile lines after it", () => {
    expect(parseRecap(OUTPUT)).toEqual({
      node1: { ok: 58, changed: 1, unreachable: 0, failed: 0, skipped: 41, rescued: 0, ignored: 0 },
      node2: { ok: 57, changed: 0, unreachable: 0, failed: 0, skipped: 41, rescued: 0, ignored: 0 },
    });
  });

  it("reads the last recap when a run prints several plays' output", () => {
    const earlier = "PLAY RECAP ***\nnode1 : ok=1 changed=9 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0\n\n";
    expect(parseRecap(earlier + OUTPUT).node1!.changed).toBe(1);
  });

  it("refuses output without a recap, without hosts, or with a host line missing a counter", () => {
    expect(() => parseRecap("fatal: [node1]: UNREACHABLE!\n")).toThrow("no PLAY RECAP in the ansible-playbook output");
    expect(() => parseRecap("PLAY RECAP ****\n\n")).toThrow("the PLAY RECAP lists no hosts");
    expect(() => parseRecap("PLAY RECAP ****\nnode1 : ok=3 changed=1\n")).toThrow("PLAY RECAP line for node1 lacks unreachable, failed, skipped, rescued, ignored: node1 : ok=3 changed=1");
  });
});

describe("median", () => {
  it("takes the middle value, or the mean of the middle two", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow("median of no values");
  });
});

const run = (ms: number, changed = 0, restarts = 0, reportedRestarts?: number) => ({ ms, changed, restarts, ...(reportedRestarts === undefined ? {} : { reportedRestarts }) });
const BEDS: BedFigures[] = [
  { tool: "kubespray", nodes: 1, fresh: run(30_000, 20), converged: [run(26_000, 1), run(25_000), run(27_000)] },
  { tool: "kubeplug", nodes: 1, fresh: run(4_000, 9, 1, 1), converged: [run(1_000, 0, 0, 0), run(1_200, 0, 0, 0), run(1_100, 0, 0, 0)], floorMs: 200 },
  { tool: "kubespray", nodes: 3, fresh: run(60_000, 60), converged: [run(56_000, 1), run(57_000), run(55_000)] },
  { tool: "kubeplug", nodes: 3, fresh: run(5_000, 27, 3, 3), converged: [run(2_000, 0, 0, 0), run(2_500, 1, 0, 0), run(1_500, 0, 0, 0)], floorMs: 250 },
];

describe("targets", () => {
  it("marks each target met or not from the figures", () => {
    expect(targets(BEDS)).toEqual([
      { target: "1 node(s): kubeplug's converged re-run ≥ 20× faster than kubespray's", figure: "23.6×", met: true },
      { target: "1 node(s): kubeplug's fresh install no slower than kubespray's", figure: "4.00 s vs 30.00 s", met: true },
      { target: "1 node(s): kubeplug's converged runs change nothing and restart nothing", figure: "changed 0, restarts 0 over 3 runs", met: true },
      { target: "3 node(s): kubeplug's converged re-run ≥ 20× faster than kubespray's", figure: "28.0×", met: true },
      { target: "3 node(s): kubeplug's fresh install no slower than kubespray's", figure: "5.00 s vs 60.00 s", met: true },
      { target: "3 node(s): kubeplug's converged runs change nothing and restart nothing", figure: "changed 1, restarts 0 over 3 runs", met: false },
      { target: "3 nodes: kubeplug's converged re-run of every step within 3× of the one-round-trip floor", figure: "8.0× (2.00 s vs 0.25 s)", met: false },
      { target: "kubeplug fresh: 3 nodes within 1.5× of 1 node", figure: "1.3×", met: true },
      { target: "kubeplug converged: 3 nodes within 1.5× of 1 node", figure: "1.8×", met: false },
    ]);
  });

  it("leaves out what a partial run cannot answer", () => {
    expect(targets(BEDS.filter((bed) => bed.tool === "kubespray"))).toEqual([]);
  });
});

describe("formatResults", () => {
  it("prints both tools side by side, the ratios, the floor and the targets", () => {
    expect(formatResults(BEDS)).toBe(
      [
        "| tool | nodes | fresh | changed (fresh) | converged runs | converged median | changed (converged) | containerd restarts (converged) |",
        "|---|---|---|---|---|---|---|---|",
        "| kubespray | 1 | 30.00 s | 20 | 26.00 s / 25.00 s / 27.00 s | 26.00 s | 1 / 0 / 0 | 0 / 0 / 0 |",
        "| kubeplug | 1 | 4.00 s | 9 | 1.00 s / 1.20 s / 1.10 s | 1.10 s | 0 / 0 / 0 | 0 (reported 0) / 0 (reported 0) / 0 (reported 0) |",
        "| kubespray | 3 | 60.00 s | 60 | 56.00 s / 57.00 s / 55.00 s | 56.00 s | 1 / 0 / 0 | 0 / 0 / 0 |",
        "| kubeplug | 3 | 5.00 s | 27 | 2.00 s / 2.50 s / 1.50 s | 2.00 s | 0 / 1 / 0 | 0 (reported 0) / 0 (reported 0) / 0 (reported 0) |",
        "",
        "| ratio | 1 node(s) | 3 node(s) |",
        "|---|---|---|",
        "| converged, kubespray / kubeplug (medians) | 23.6× | 28.0× |",
        "| fresh, kubespray / kubeplug | 7.5× | 12.0× |",
        "| kubeplug converged / one-round-trip floor | 5.5× | 8.0× |",
        "",
        "One-round-trip floor (one SSH session per node, in parallel: sha256sum of config.toml and hosts.toml, systemctl is-active and is-enabled containerd): 1 node(s) 0.20 s, 3 node(s) 0.25 s.",
        "",
        "| 3 nodes / 1 node | fresh | converged (medians) |",
        "|---|---|---|",
        "| kubespray | 2.0× | 2.2× |",
        "| kubeplug | 1.3× | 1.8× |",
        "",
        "| target (issue 14) | figure | met |",
        "|---|---|---|",
        ...targets(BEDS).map((t) => `| ${t.target} | ${t.figure} | ${t.met ? "yes" : "**no**"} |`),
        "",
      ].join("\n"),
    );
  });
});
