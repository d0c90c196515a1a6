import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/render";
import { planToTree } from "../../src/plan/render-tree";
import { GOLDEN_CASES, planGoldenCase } from "../support/golden-cases";

const projectDir = join(__dirname, "..", "..");
const outDirs: string[] = [];

function captureStdout(run: () => number): { code: number; stdout: string } {
  const write = process.stdout.write.bind(process.stdout);
  let stdout = "";
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: run(), stdout };
  } finally {
    process.stdout.write = write;
  }
}

afterAll(() => {
  for (const dir of outDirs) rmSync(dir, { recursive: true, force: true });
});

describe("rendering is deterministic", () => {
  it.each(GOLDEN_CASES)("%s renders byte-identical output twice", (name) => {
    const first = planToTree(planGoldenCase(name));
    const second = planToTree(planGoldenCase(name));
    expect([...second.entries()]).toEqual([...first.entries()]);
  });

  it("a second render of the dev stack reports no changes and rewrites nothing", () => {
    const out = mkdtempSync(join(tmpdir(), "kubeplug-render-"));
    outDirs.push(out);
    const first = captureStdout(() => main(["--stack", "dev", "--out", out], projectDir));
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("24 of 24 step(s) new or changed (first render in this directory)");

    const config = join(out, "nodes/node1/files/etc/containerd/config.toml");
    const mtime = statSync(config).mtimeMs;
    const before = readFileSync(config, "utf8");
    const second = captureStdout(() => main(["--stack", "dev", "--out", out], projectDir));
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/no changes/);
    expect(second.stdout).not.toMatch(/\b(new|changed)\b\s+\S/);
    expect(statSync(config).mtimeMs).toBe(mtime);
    expect(readFileSync(config, "utf8")).toBe(before);

    const check = captureStdout(() => main(["--stack", "dev", "--out", out, "--check"], projectDir));
    expect(check.code).toBe(0);
  });
});
