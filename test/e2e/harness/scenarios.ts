/**
 * Shared by the e2e files: waiting for the one bed a machine can run, applying a stack through the
 * harness, the per-scenario figures, and tearing the bed down.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";
import { expect } from "vitest";
import { applyStack } from "./apply";
import { runStep } from "./run-step";
import type { StepDefinition } from "../../../src/components/node/step";
import { ApplyInput, ApplyReport, CommandRun, E2eFigure } from "./report";
import type { Testbed } from "../testbed";
import { Stack, withCrictlStandin } from "./bed";

export type { Stack } from "./bed";
export { waitForFreeBridge, withCrictlStandin } from "./bed";

export type Applied = ApplyReport & { wallMs: number };

/** Applies stacks in order, one scenario each, and keeps their figures. */
export class Scenarios {
  readonly figures: E2eFigure[] = [];
  private readonly listeners: ((report: ApplyReport) => void)[] = [];

  constructor(
    private readonly work: string,
    private readonly secrets: Record<string, string> = {},
  ) {}

  async apply(scenario: string, stack: Stack, options: Pick<ApplyInput, "stateFile" | "dropConnection"> = {}): Promise<Applied> {
    const stackFile = join(this.work, `Pulumi.e2e-${this.figures.length}.yaml`);
    writeFileSync(stackFile, yaml.dump(await withCrictlStandin(stack)));
    const report = await applyStack({ stackFile, stack: "e2e", secrets: this.secrets, ...options });
    this.figures.push({
      scenario,
      nodes: new Set(report.commands.map((c) => c.node)).size,
      stepsRun: report.commands.filter((c) => c.status === "ok" || c.status === "failed").length,
      wallMs: report.wallMs,
      lost: "see assertions",
    });
    for (const secret of Object.values(this.secrets)) expect(JSON.stringify(report)).not.toContain(secret);
    for (const listener of this.listeners) listener(report);
    return report;
  }

  /** Runs one step on its node without a stack (harness/run-step.ts), as one scenario. */
  async step(scenario: string, bed: Testbed, definition: StepDefinition): Promise<CommandRun> {
    const run = await runStep(bed, definition);
    this.figures.push({ scenario, nodes: 1, stepsRun: 1, wallMs: run.ms, lost: "see assertions" });
    return run;
  }

  /**
   * Runs `body` (several applies) as one scenario: its applies become one row with the nodes they
   * touched, the steps they ran and the wall time of the whole body. The row's `lost` is what `body`
   * returns, so it says "nothing" only when the body got to the end of its assertions.
   */
  async group(scenario: string, body: () => Promise<string>): Promise<E2eFigure> {
    const first = this.figures.length;
    const nodes = new Set<string>();
    const started = Date.now();
    const onApply = (report: ApplyReport) => report.commands.filter((c) => c.status === "ok" || c.status === "failed").forEach((c) => nodes.add(c.node));
    this.listeners.push(onApply);
    let lost = "not proven (the scenario failed)";
    try {
      lost = await body();
    } finally {
      this.listeners.splice(this.listeners.indexOf(onApply), 1);
      const rows = this.figures.splice(first);
      this.figures.push({ scenario, nodes: nodes.size, stepsRun: rows.reduce((n, f) => n + f.stepsRun, 0), wallMs: Date.now() - started, lost });
    }
    return this.last();
  }

  /** The figure of the last apply. */
  last(): E2eFigure {
    return this.figures[this.figures.length - 1]!;
  }

  table(title: string): string {
    return [
      `${title}:`,
      "| scenario | nodes | steps run | wall time | lost |",
      "|---|---|---|---|---|",
      ...this.figures.map((f) => `| ${f.scenario} | ${f.nodes} | ${f.stepsRun} | ${(f.wallMs / 1000).toFixed(1)} s | ${f.lost} |`),
    ].join("\n");
  }
}

/**
 * Stops the bed and removes the work dir, then prints the figures; with KUBEPLUG_E2E_FIGURES set
 * (bench/e2e.ts) they are also written there as JSON.
 */
export async function finishBed(bed: Testbed | undefined, work: string, scenarios: Scenarios | undefined, title: string): Promise<void> {
  try {
    await bed?.stop();
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (scenarios?.figures.length) {
      console.log(`\n${scenarios.table(title)}\n`);
      if (process.env.KUBEPLUG_E2E_FIGURES) writeFileSync(process.env.KUBEPLUG_E2E_FIGURES, JSON.stringify(scenarios.figures, null, 2));
    }
  }
}

/** A step's run, or a node's step-library upload or install, by its resource name. */
export const command = (report: ApplyReport, name: string): CommandRun => {
  const all = [...report.commands, ...report.libraries];
  const found = all.find((c) => c.name === name);
  if (!found) throw new Error(`no command ${name} in the report; it has ${all.map((c) => c.name).join(", ")}`);
  return found;
};

/** Steps that failed, with their error and the end of their stderr, for assertion messages. */
export const failures = (report: ApplyReport): string =>
  report.commands
    .filter((c) => c.status === "failed")
    .map((c) => `${c.error}\n${c.stderr.trim().split("\n").slice(-5).join("\n")}`)
    .concat([...new Set(report.errors)])
    .join("\n---\n");

/** Runs a command on a node and returns its trimmed stdout; a non-zero exit throws with stderr. */
export async function onNode(bed: Testbed, node: string, script: string, input?: string): Promise<string> {
  const result = await bed.ssh(node, script, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`${node}: ${script}: exit ${result.code}: ${result.stderr}`);
  return result.stdout.trim();
}
