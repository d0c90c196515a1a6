import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseStackFile } from "../../src/config/stack";
import { ClusterPlan, planCluster } from "../../src/plan/cluster-plan";

export const GOLDEN_DIR = join(__dirname, "..", "golden");
const CASES_DIR = join(GOLDEN_DIR, "cases");

/** Stack files under test/golden/cases: each renders to the files checked in under test/golden/<case>/. */
export const GOLDEN_CASES = readdirSync(CASES_DIR)
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.replace(/\.yaml$/, ""))
  .sort();

export function planGoldenCase(name: string): ClusterPlan {
  const file = join(CASES_DIR, `${name}.yaml`);
  return planCluster(parseStackFile(name, readFileSync(file, "utf8"), file).config);
}
