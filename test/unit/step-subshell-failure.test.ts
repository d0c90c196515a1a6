import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// kp_fail in a subshell (here a process substitution, whose failure bash never reports to its reader)
// used to run the step's rollback there and let the step go on: a runtime swap's prepull rolled the
// node back to its old runtime, then repointed the kubelet to the new one. The prelude runs for real
// under bash, with its state directories moved into a temp dir.
const PRELUDE = readFileSync(join(__dirname, "../../src/components/node/scripts/prelude.sh"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "kp-subshell-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runStep(name: string, body: string) {
  const root = join(dir, name);
  const script = [
    "set -Eeuo pipefail",
    PRELUDE,
    `KP_STATE_DIR=${root}/state KP_RUN_DIR=${root}/run KP_LOG_DIR=${root}/log KP_NODE=n1 KP_STEP=demo KP_ARCH=amd64 KP_SCRIPT_HASH=0`,
    "id() { echo 0; }",
    `record() { echo "rollback in $BASHPID of $$" >>${root}/rollbacks; }`,
    "KP_ROLLBACK_HOOK=record",
    "kp_begin",
    body,
    `echo "went on" >>${root}/rollbacks`,
  ].join("\n");
  const run = spawnSync("bash", ["-c", script], { encoding: "utf8" });
  let rollbacks: string[] = [];
  try {
    rollbacks = readFileSync(join(root, "rollbacks"), "utf8").trim().split("\n");
  } catch {
    rollbacks = [];
  }
  return { ...run, rollbacks };
}

describe("a failure inside a subshell of a step", () => {
  it("a process substitution that fails stops the step itself: one rollback, in the step's own shell, and nothing after it runs", () => {
    const run = runStep("procsub", "mapfile -t lines < <(printf 'a\\n' | grep -x b)\necho \"read ${#lines[@]}\"");
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("kubeplug[n1/demo]: error: command failed");
    expect(run.stderr).toContain("grep -x b");
    expect(run.rollbacks).toHaveLength(1);
    const [, inner, outer] = /rollback in (\d+) of (\d+)/.exec(run.rollbacks[0]!)!;
    expect(inner).toBe(outer);
    expect(run.stdout).not.toContain("read");
  });

  it("kp_fail called in a command substitution fails the step with its own message, rolled back once", () => {
    const run = runStep("cmdsub", 'value=$(kp_fail "the value cannot be read")\necho "value=$value"');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("kubeplug[n1/demo]: error: the value cannot be read");
    expect(run.rollbacks).toHaveLength(1);
    expect(run.stdout).not.toContain("value=");
  });
});
