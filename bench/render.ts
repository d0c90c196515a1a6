/**
 * Renders the stack of bench/render-stack.ts at 1k, 2k, 4k, 8k and 16k nodes the way `npm run render`
 * writes it (one node's files at a time), each size in a fresh process so its peak RSS is its own,
 * and prints per size the time of each phase, its growth per doubling, and peak RSS.
 *
 *   npm run bench                 # or: tsx bench/render.ts [nodes...]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateStackConfig } from "../src/config/stack";
import { clusterPlanner } from "../src/plan/cluster-plan";
import { writeOutput } from "../src/plan/output-dir";
import { plannerFiles } from "../src/plan/render-tree";
import { stackValues } from "./render-stack";
import { stateSizes, stateTable } from "./state-size";

const CHILD = "--one-size";
/** In memory where there is a tmpfs: 16k nodes write 320 MiB in 296,008 files, and on disk the first write measures the disk, not kubeplug. */
const OUT_BASE = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();

interface Sample {
  readonly nodes: number;
  /** Seconds per phase. */
  readonly validate: number;
  readonly render: number;
  readonly write: number;
  readonly rerender: number;
  readonly files: number;
  readonly outputMiB: number;
  readonly changed: number;
  readonly peakMiB: number;
}

const PHASES = [
  ["validate", "validate"],
  ["render", "render"],
  ["write", "first write"],
  ["rerender", "re-render + diff"],
] as const;

function seconds<T>(run: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = run();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

/**
 * validate: the stack config; render: every node's steps and files, each dropped once counted;
 * first write: a render into an empty directory; re-render + diff: validate, render and compare with
 * that unchanged directory, as a second `npm run render` does.
 */
function measureOneSize(nodes: number): Sample {
  const out = mkdtempSync(join(OUT_BASE, "kubeplug-bench-"));
  try {
    const [{ config }, validate] = seconds(() => validateStackConfig("bench", stackValues(nodes)));
    const [counted, render] = seconds(() => {
      let files = 0;
      let chars = 0;
      for (const [, file] of plannerFiles(clusterPlanner(config))) {
        files++;
        chars += file.content.length;
      }
      return { files, chars };
    });
    const [, write] = seconds(() => writeOutput(out, plannerFiles(clusterPlanner(config))));
    const [diff, rerender] = seconds(() => writeOutput(out, plannerFiles(clusterPlanner(validateStackConfig("bench", stackValues(nodes)).config))));
    const changed = [...diff.changes.values()].filter((c) => c !== "unchanged").length;
    return { nodes, validate, render, write, rerender, files: counted.files, outputMiB: counted.chars / 2 ** 20, changed, peakMiB: peakRssMiB() };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** VmHWM: the most resident memory this process has had. */
function peakRssMiB(): number {
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return kib ? Number(kib) / 1024 : process.resourceUsage().maxRSS / 1024;
}

function inChild(nodes: number): Sample {
  const child = spawnSync(process.execPath, [...process.execArgv, __filename, CHILD, String(nodes)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`the ${nodes}-node run exited with ${child.status ?? child.signal}`);
  return JSON.parse(child.stdout) as Sample;
}

function table(samples: readonly Sample[]): string {
  const growth = (i: number, value: (s: Sample) => number) => {
    const before = samples[i - 1];
    return before && before.nodes * 2 === samples[i]!.nodes ? `x${(value(samples[i]!) / value(before)).toFixed(2)}` : "";
  };
  const header = ["nodes", ...PHASES.map(([, label]) => label), "peak RSS", "files", "output"];
  const rows = samples.map((s, i) => [
    String(s.nodes),
    ...PHASES.map(([key]) => `${s[key].toFixed(2)} s ${growth(i, (x) => x[key])}`.trim()),
    `${s.peakMiB.toFixed(0)} MiB ${growth(i, (x) => x.peakMiB)}`.trim(),
    String(s.files),
    `${s.outputMiB.toFixed(0)} MiB`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  return [header, ...rows].map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd()).join("\n");
}

if (process.argv[2] === CHILD) {
  process.stdout.write(JSON.stringify(measureOneSize(Number(process.argv[3]))));
} else {
  const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1000, 2000, 4000, 8000, 16000];
  console.log(`kubeplug render benchmark (node ${process.version}); growth is the ratio to the size half as large`);
  const samples: Sample[] = [];
  for (const nodes of sizes) {
    samples.push(inChild(nodes));
    const unchanged = samples.at(-1)!.changed === 0;
    if (!unchanged) console.log(`${nodes} nodes: the unchanged re-render changed ${samples.at(-1)!.changed} file(s)`);
  }
  console.log(table(samples));
  console.log("\nstate size under pulumi.runtime.setMocks (a stand-in for the engine): inputs of every command:remote resource");
  console.log(stateTable(stateSizes(["prod", "1000"])));
}
