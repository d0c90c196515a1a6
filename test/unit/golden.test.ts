import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { NodeStepSpec } from "../../src/components/node/step";
import { GOLDEN_CASES, GOLDEN_DIR, planGoldenCase } from "../support/golden-cases";

// Golden files pin what lands on a node: every installed file byte for byte, and each step's
// variables (packages, URLs, checksums, paths). The script bodies are pinned by shellcheck and the
// real-node tests instead, so a prelude fix does not rewrite every golden (nor does the step library hash, KP_LIB).
// UPDATE_GOLDEN=1 npm run test:unit rewrites them; review the diff like code.
const UPDATE = process.env.UPDATE_GOLDEN === "1";

function stepVariables(step: NodeStepSpec): string {
  const lines = step.script.split("\n");
  const start = lines.findIndex((l) => l.startsWith("KP_NODE="));
  const end = lines.findIndex((l, i) => i > start && !l.startsWith("KP_"));
  return lines.slice(start, end).filter((l) => !l.startsWith("KP_SCRIPT_HASH=") && !l.startsWith("KP_LIB=")).join("\n") + "\n";
}

function expectedFiles(name: string): Map<string, string> {
  const plan = planGoldenCase(name);
  const files = new Map<string, string>();
  const node = plan.nodes[0]!;
  node.steps.forEach((step, i) => {
    files.set(`steps/${String(i + 1).padStart(2, "0")}-${step.id}.vars`, stepVariables(step));
    for (const file of step.files) files.set(`files${file.path}`, file.content);
  });
  return files;
}

function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  return files;
}

describe.each(GOLDEN_CASES)("golden render: %s", (name) => {
  const dir = join(GOLDEN_DIR, name);

  it("matches the checked-in files", () => {
    const expected = expectedFiles(name);
    if (UPDATE) {
      rmSync(dir, { recursive: true, force: true });
      for (const [path, content] of expected) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
    }
    const actual = readTree(dir);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [path, content] of expected) expect(actual.get(path), path).toBe(content);
  });
});
