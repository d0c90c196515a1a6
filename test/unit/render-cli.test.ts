import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/render";
import { LocalEnvironment } from "../../src/plan/preflight";
import { captureOutput } from "../support/capture-output";

// What `npm run render` says when its arguments or this machine do not fit: one clear line, never a
// stack trace, and the names that do exist.
const projectDir = join(__dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "kubeplug-render-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(argv: string[], local?: LocalEnvironment): { code: number; stdout: string; stderr: string } {
  return captureOutput(() => main(argv, projectDir, local));
}

/** A machine with the dev stack's key in its project directory and nothing in its environment. */
function machine(withKey: boolean): LocalEnvironment {
  const dir = mkdtempSync(join(work, "machine-"));
  if (withKey) {
    mkdirSync(join(dir, ".testbed"));
    writeFileSync(join(dir, ".testbed", "id_ed25519"), "stand-in private key\n");
  }
  return { projectDir: dir, homeDir: join(dir, "home"), env: {} };
}

describe("npm run render: arguments and this machine", () => {
  it("--out naming a file is a usage error, not a stack trace", () => {
    const file = join(work, "not-a-dir");
    writeFileSync(file, "x");
    const result = run(["--stack", "dev", "--out", file]);
    expect(result).toEqual({ code: 64, stdout: "", stderr: `--out ${file}: that is a file, not a directory; name a directory (it is created when missing)\n` });
  });

  it("--out below a file says it cannot write there", () => {
    const file = join(work, "a-file");
    writeFileSync(file, "x");
    const result = run(["--stack", "dev", "--out", join(file, "render")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^cannot write the render to ${file}/render: ENOTDIR: not a directory`));
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("--stack naming nothing lists the stacks there are, with the likely one", () => {
    expect(run(["--stack", "qa"])).toEqual({
      code: 1,
      stdout: "",
      stderr: "invalid kubeplug configuration (1 problem):\n  stacks/Pulumi.qa.yaml: no such stack file; stacks in stacks/: dev, prod, staging\n",
    });
    expect(run(["--stack", "prd"]).stderr).toBe('invalid kubeplug configuration (1 problem):\n  stacks/Pulumi.prd.yaml: no such stack file; did you mean "prod"? Stacks in stacks/: dev, prod, staging\n');
  });

  it("--node naming nothing lists the stack's nodes, with the likely one", () => {
    const out = join(work, "nodes");
    expect(run(["--stack", "dev", "--out", out, "--node", "worker9"])).toEqual({ code: 64, stdout: "", stderr: "no node named \"worker9\" in stack dev; nodes: node1, node2, node3\n" });
    expect(run(["--stack", "dev", "--out", out, "--node", "nod2"]).stderr).toBe('no node named "nod2" in stack dev; did you mean "node2"? Nodes: node1, node2, node3\n');
  });

  it("a key file that is not on this machine is listed at its field, after a complete render", () => {
    const out = join(work, "no-key");
    const result = run(["--stack", "dev", "--out", out], machine(false));
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith(
      "\npulumi up on this machine would stop at (1):\n" +
        '  kubeplug:cluster.ssh.privateKeyPath: no file ".testbed/id_ed25519" (relative to the project directory); pulumi up reads the private key from it\n',
    )).toBe(true);
    expect(readdirSync(join(out, "nodes")).sort()).toEqual(["node1", "node2", "node3"]);
  });

  it("lists nothing once the key is there", () => {
    const result = run(["--stack", "dev", "--out", join(work, "with-key")], machine(true));
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("pulumi up on this machine would stop at");
  });
});

describe("npm run render: the host key opt-out", () => {
  it("prints the dev stack's insecureSkipHostKeyCheck as a warning on every render", () => {
    for (const attempt of [1, 2]) {
      const result = run(["--stack", "dev", "--out", join(work, "warned")]);
      expect(result.code, `render ${attempt}`).toBe(0);
      expect(result.stdout).toContain(
        "warnings:\n  kubeplug:cluster.ssh.insecureSkipHostKeyCheck: host keys are not checked for node1 (10.231.0.11), node2 (10.231.0.12), node3 (10.231.0.13): whoever answers at these addresses gets root commands and registry credentials; for throwaway labs only\n",
      );
    }
  });

  it.each(["prod", "staging"])("the %s example pins every host key and renders without that warning", (stack) => {
    const result = run(["--stack", stack, "--out", join(work, stack)]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("host keys are not checked");
  });

  // schema-editor.test.ts checks every one of these files against schema/kubeplug.schema.json.
  const stacks = readdirSync(join(projectDir, "stacks")).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort();
  it.each(stacks)("stacks/Pulumi.%s.yaml renders and prints its plan", (stack) => {
    const result = run(["--stack", stack, "--out", join(work, `every-${stack}`)]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^kubeplug render: stack ${stack} -> .*\n  \\d+ node\\(s\\) in \\d+ pool\\(s\\), \\d+ node step\\(s\\)\n`));
    expect(result.stdout).toMatch(/\d+ of \d+ step\(s\) new or changed/);
  });

  it("the stacks there are: dev, prod and staging", () => {
    expect(stacks).toEqual(["dev", "prod", "staging"]);
  });
});
