/**
 * Runs the real-node suite and prints, per scenario, nodes, steps run, wall time and whether anything
 * was lost (the suite records these while it asserts them). Needs root and the test-bed tools.
 *
 *   npm run bench:e2e
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2eFigure } from "../test/e2e/harness/report";


const dir = mkdtempSync(join(tmpdir(), "kubeplug-bench-e2e-"));
const figures = join(dir, "figures.json");
try {
  const run = spawnSync("npx", ["vitest", "run", "--project", "e2e", "test/e2e/containerd.e2e.test.ts"], {
    stdio: "inherit",
    env: { ...process.env, KUBEPLUG_E2E_FIGURES: figures },
  });
  if (!existsSync(figures)) {
    console.error(`no figures recorded (vitest exit ${run.status}); is the test bed available?`);
    process.exit(1);
  }
  const rows = JSON.parse(readFileSync(figures, "utf8")) as E2eFigure[];
  console.log("\n| scenario | nodes | steps run | wall time | lost |\n|---|---|---|---|---|");
  for (const f of rows) console.log(`| ${f.scenario} | ${f.nodes} | ${f.stepsRun} | ${(f.wallMs / 1000).toFixed(1)} s | ${f.lost} |`);
  process.exit(run.status ?? 1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
