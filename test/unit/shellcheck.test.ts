import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadStack } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";
import { GOLDEN_CASES, planGoldenCase } from "../support/golden-cases";
import { missingTools } from "../support/tools";

const skip = missingTools(["shellcheck"]);
const dir = mkdtempSync(join(tmpdir(), "kubeplug-shellcheck-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function renderedScripts(): string[] {
  const plans = [...GOLDEN_CASES.map(planGoldenCase), planCluster(loadStack(join(__dirname, "..", ".."), "dev").config)];
  const files: string[] = [];
  plans.forEach((plan, p) => {
    for (const node of plan.nodes) {
      for (const step of node.steps) {
        const file = join(dir, `${p}-${node.node.name}-${step.id}.sh`);
        writeFileSync(file, step.script);
        files.push(file);
      }
    }
  });
  return files;
}

describe.skipIf(skip)(`rendered node scripts pass shellcheck${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("every step of every golden case and of the dev stack is clean at style level", { timeout: 120_000 }, () => {
    const files = renderedScripts();
    expect(files.length).toBeGreaterThan(10);
    // Several shellcheck processes at once: the scripts are large and the check is CPU-bound.
    const list = join(dir, "scripts.list");
    writeFileSync(list, files.join("\0"));
    let output = "";
    try {
      execFileSync("sh", ["-c", `xargs -0 -P 4 -n 6 shellcheck -S style -s bash < "${list}"`], { encoding: "utf8" });
    } catch (error) {
      output = (error as { stdout: string }).stdout;
    }
    expect(output).toBe("");
  });

  it("the script assets themselves are clean", () => {
    const assets = ["src/components/node/scripts", "src/components/runtime/scripts", "src/components/network/scripts"].flatMap((d) =>
      readdirSync(join(__dirname, "..", "..", d)).map((f) => join(__dirname, "..", "..", d, f)),
    );
    expect(() => execFileSync("shellcheck", ["-S", "style", "-s", "bash", ...assets], { encoding: "utf8" })).not.toThrow();
  });
});
