import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CNI_CONFLIST_STEP } from "../../src/components/network/cni-conflist";
import { CNI_PLUGINS_STEP } from "../../src/components/network/cni-plugins";
import { STEP_IDS } from "../../src/components/runtime/containerd-steps";
import { CRIO_STEP_IDS } from "../../src/components/runtime/crio-steps";
import { NODE_PREPARE_STEP } from "../../src/components/node/prepare-steps";
import { STORAGE_PREPARE_STEP } from "../../src/components/node/storage-prepare-steps";
import { SWAP_STEPS } from "../../src/components/runtime/runtime-swap";
import { loadStack } from "../../src/plan/stack-files";
import { planCluster } from "../../src/plan/cluster-plan";
import { expectedState } from "../../src/drift/expected";
import { probeScript } from "../../src/drift/probe";
import { stepLibrary } from "../../src/components/node/library";
import { GOLDEN_CASES, planGoldenCase } from "../support/golden-cases";
import { inlineLibrary } from "../support/inline-library";
import { missingTools } from "../support/tools";

const ROOT = join(__dirname, "..", "..");
const skip = missingTools(["shellcheck"]);
const dir = mkdtempSync(join(tmpdir(), "kubeplug-shellcheck-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every bash fragment kubeplug ships: src/**\/*.sh. */
const ASSETS = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".sh"))
  .sort()
  .map((f) => join(ROOT, "src", f));

/** Every step kind a stack can render. */
const STEP_KINDS = [...new Set([NODE_PREPARE_STEP, STORAGE_PREPARE_STEP, ...Object.values(STEP_IDS), ...Object.values(CRIO_STEP_IDS), CNI_PLUGINS_STEP, CNI_CONFLIST_STEP, ...Object.values(SWAP_STEPS)])].sort();

/**
 * Every step of every golden case and of the dev stack, as the node runs it. One node per pool: the
 * other nodes' scripts differ only in quoted values and in heredoc content, which shellcheck does not parse.
 */
const STEPS = [...GOLDEN_CASES.map(planGoldenCase), planCluster(loadStack(ROOT, "dev").config)].flatMap((plan, p) =>
  plan.nodes
    .filter((node, i, nodes) => nodes.findIndex((other) => other.pool.name === node.pool.name) === i)
    .flatMap((node) => node.steps.map((step) => ({ id: step.id, script: inlineLibrary(step.script), file: join(dir, `${p}-${node.node.name}-${step.id}.sh`) }))),
);

/** The drift probe as sent to the dev stack's nodes (src/drift/probe.ts): not a step, so listed apart. */
const DEV = loadStack(ROOT, "dev").config;
const PROBES = expectedState(DEV, planCluster(DEV)).map((node) => ({ script: probeScript(node), file: join(dir, `probe-${node.node}.sh`) }));

/** What travels besides the steps as shellcheck saw them: the step library's installer, and a step as sent, sourcing its fragments. */
const AS_SENT = [
  { script: stepLibrary().installer, file: join(dir, "library-installer.sh") },
  { script: planCluster(DEV).nodes[0]!.steps[0]!.script, file: join(dir, "step-as-sent.sh") },
];

/** shellcheck's findings for the files listed, NUL-separated, in `list`: several processes at once, as the check is CPU-bound. */
function shellcheck(list: string): string {
  try {
    execFileSync("sh", ["-c", `xargs -0 -P 4 -n 6 shellcheck -S style -s bash < "${list}"`], { encoding: "utf8" });
    return "";
  } catch (error) {
    return (error as { stdout: string }).stdout;
  }
}

function listFile(name: string, files: readonly string[]): string {
  const list = join(dir, name);
  writeFileSync(list, files.join("\0"));
  return list;
}

describe.skipIf(skip)(`rendered node scripts pass shellcheck${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("every step of every golden case and of the dev stack, the drift probe and the step library installer, is clean at style level", { timeout: 120_000 }, () => {
    for (const step of [...STEPS, ...PROBES, ...AS_SENT]) writeFileSync(step.file, step.script);
    expect(shellcheck(listFile("steps.list", [...STEPS, ...PROBES, ...AS_SENT].map((s) => s.file)))).toBe("");
  });

  it(`the rendered steps cover every step kind (${STEP_KINDS.join(", ")}) and every script under src/`, () => {
    expect([...new Set(STEPS.map((s) => s.id))].sort()).toEqual(STEP_KINDS);
    const unused = ASSETS.filter((asset) => ![...STEPS, ...PROBES].some((step) => step.script.includes(readFileSync(asset, "utf8"))));
    expect(unused).toEqual([]);
  });

  it(`every script under src/ is clean on its own (${ASSETS.length} files)`, () => {
    expect(ASSETS).toEqual(expect.arrayContaining([join(ROOT, "src/components/network/scripts/cni-conflist.sh")]));
    expect(shellcheck(listFile("assets.list", ASSETS))).toBe("");
  });

  it("the CI scripts (.ci/run, .ci/pinned-node) are clean", () => {
    const ci = readdirSync(join(ROOT, ".ci")).sort().map((f) => join(ROOT, ".ci", f));
    expect(ci).toEqual([join(ROOT, ".ci/pinned-node"), join(ROOT, ".ci/run")]);
    expect(shellcheck(listFile("ci.list", ci))).toBe("");
  });
});
