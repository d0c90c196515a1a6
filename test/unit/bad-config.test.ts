import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KubeplugConfigError } from "../../src/errors";
import { parseStackFile } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";

// Each `<case>.yaml` is a whole stack file that must be refused; `<case>.error.txt` holds the exact
// message a user sees, from validation or from the plan (which refuses what only rendering shows). UPDATE_BAD_CONFIG=1 is deliberately not offered: each message is reviewed by hand.
const dir = join(__dirname, "..", "fixtures", "bad-config");
const cases = readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();

describe("bad-config corpus", () => {
  it("holds at least 30 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)("%s is refused with its exact error", (file) => {
    const text = readFileSync(join(dir, file), "utf8");
    const expected = readFileSync(join(dir, file.replace(/\.yaml$/, ".error.txt")), "utf8").trimEnd();
    let error: unknown;
    try {
      planCluster(parseStackFile("bad", text, `stacks/${file}`).config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KubeplugConfigError);
    expect((error as Error).message).toBe(expected);
  });
});
