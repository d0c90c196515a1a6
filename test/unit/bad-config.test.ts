import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KubeplugConfigError } from "../../src/errors";
import { parseStackFile } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";
import { LocalEnvironment, preflight, requirePreflight } from "../../src/plan/preflight";

// Each `<case>.yaml` is a whole stack file that must be refused; `<case>.error.txt` holds the exact
// message a user sees, from validation, from preflight (what the machine running pulumi up must
// provide, as the program enforces it) or from the plan (which refuses what only rendering shows). UPDATE_BAD_CONFIG=1 is
// deliberately not offered: each message is reviewed by hand.
const dir = join(__dirname, "..", "fixtures", "bad-config");
const cases = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

// The machine the corpus is checked on: a project directory holding the keys the dev stack names
// (.testbed/ is git-ignored, so they are written here), home in bad-config/home, no environment.
const projectDir = mkdtempSync(join(tmpdir(), "kubeplug-bad-config-"));
mkdirSync(join(projectDir, ".testbed"));
for (const key of ["id_ed25519", "bastion_ed25519"]) writeFileSync(join(projectDir, ".testbed", key), "stand-in private key\n");
const local: LocalEnvironment = { projectDir, homeDir: join(dir, "home"), env: {} };
afterAll(() => rmSync(projectDir, { recursive: true, force: true }));

describe("bad-config corpus", () => {
  it("holds at least 30 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)("%s is refused with its exact error", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    const expected = readFileSync(join(dir, file.replace(/\.yaml$/, ".error.txt")), "utf8").trimEnd();
    let error: unknown;
    try {
      const { config } = parseStackFile("bad", text, `stacks/${file}`);
      planCluster(config, requirePreflight(preflight(config, local)));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KubeplugConfigError);
    expect((error as Error).message).toBe(expected);
  });
});
