/**
 * Runs the real-node scenarios (containerd, then the faults of issue 10) and prints, per scenario,
 * nodes, steps run, wall time and whether anything was lost (the suites record these while they
 * assert them). Needs root and the test-bed tools; run it under the e2e lock when others share the
 * machine: `flock /tmp/kubeplug-e2e.lock npm run bench:e2e`.
 *
 *   npm run bench:e2e
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2eFigure } from "../test/e2e/harness/report";

const FILES = ["test/e2e/containerd.e2e.test.ts", "test/e2e/faults.e2e.test.ts"];

const dir = mkdtempSync(join(tmpdir(), "kubeplug-bench-e2e-"));
let status = 0;
const rows: E2eFigure[] = [];
try {
  FILES.forEach((file, i) => {
    const figures = join(dir, `figures-${i}.json`);
    const run = spawnSync("npx", ["vitest", "run", "--project", "e2e", file], {
      stdio: "inherit",
      env: { ...process.env, KUBEPLUG_E2E_FIGURES: figures },
    });
    if (!existsSync(figures)) {
      console.error(`${file}: no figures recorded (vitest exit ${run.status}); is the test bed available?`);
      status = 1;
      return;
    }
    rows.push(...(JSON.parse(readFileSync(figures, "utf8")) as E2eFigure[]));
    if (run.status !== 0) status = run.status ?? 1;
  });
  console.log("\n| scenario | nodes | steps run | wall time | lost |\n|---|---|---|---|---|");
  for (const f of rows) console.log(`| ${f.scenario} | ${f.nodes} | ${f.stepsRun} | ${(f.wallMs / 1000).toFixed(1)} s | ${f.lost} |`);
  process.exitCode = status;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
