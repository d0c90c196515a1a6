import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The layer rules live in .dependency-cruiser.cjs; dependency-cruiser checks them here so that
// `npm test` fails on an upward import.
const root = join(__dirname, "..", "..");

async function violations(paths: string[]): Promise<string[]> {
  const { cruise } = await import("dependency-cruiser");
  const config = require(join(root, ".dependency-cruiser.cjs"));
  const result = await cruise(paths, { ...config.options, ruleSet: { forbidden: config.forbidden }, baseDir: root, validate: true });
  const output = result.output as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
}

describe("layers import downward only", () => {
  it("src has no upward import, no Pulumi below the components, and no cycle", async () => {
    expect(await violations(["src"])).toEqual([]);
  });

  it("each rule fails on a deliberate violation (test/fixtures/layers)", async () => {
    const found = await violations(["test/fixtures/layers/src"]);
    expect(found).toEqual([
      "config-imports-no-renderer: test/fixtures/layers/src/config/upward.ts -> test/fixtures/layers/src/components/domain/renderer.ts",
      "facts-import-nothing-above: test/fixtures/layers/src/catalog/upward.ts -> test/fixtures/layers/src/config/upward.ts",
      "plan-is-pure: test/fixtures/layers/src/plan/impure.ts -> node_modules/@pulumi/pulumi/index.js",
    ]);
  });
});
