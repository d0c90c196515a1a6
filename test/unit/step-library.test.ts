import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LIBRARY_ROOT, stepLibrary } from "../../src/components/node/library";
import { planCluster } from "../../src/plan/cluster-plan";
import { loadStack } from "../../src/plan/stack-files";

// The installer and a step's library check run for real under bash, with LIBRARY_ROOT moved into a
// temp dir (the one substitution in their text). The step is cut after its check, so nothing past
// it runs on this machine; e2e runs whole steps on the test nodes.
const dir = mkdtempSync(join(tmpdir(), "kp-library-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const root = join(dir, "lib");
const library = stepLibrary();
const lib = join(root, library.hash);
const moved = (text: string) => text.replaceAll(LIBRARY_ROOT, root);

function install() {
  const file = join(dir, "installer.sh");
  writeFileSync(file, moved(library.installer));
  const run = spawnSync("bash", [file, "n1"], { encoding: "utf8" });
  const line = run.stdout.split("\n").find((l) => l.startsWith("KUBEPLUG_RESULT "));
  return { ...run, result: line ? (JSON.parse(line.slice("KUBEPLUG_RESULT ".length)) as { changed: string[] }) : undefined };
}

const step = planCluster(loadStack(join(__dirname, "..", ".."), "dev").config).nodes[0]!.steps[0]!;
/** The step as rendered, up to and including its library check, then a marker. */
function checkOnly() {
  const script = moved(step.script);
  const end = script.indexOf("\n", script.indexOf("Nothing changed.")) + 1;
  expect(script.slice(0, end)).toContain(`KP_LIB=${lib}`);
  const file = join(dir, "step.sh");
  writeFileSync(file, `${script.slice(0, end)}echo past-the-check\n`);
  return spawnSync("bash", [file], { encoding: "utf8" });
}

const tree = () => (existsSync(root) ? readdirSync(root, { recursive: true, encoding: "utf8" }).sort() : []);

describe("the step library on a node", () => {
  it("a step refuses to run while its library is not on the node, names it, and changes nothing", () => {
    const run = checkOnly();
    expect(run.status).toBe(1);
    expect(run.stdout).not.toContain("past-the-check");
    expect(run.stderr).toBe(`kubeplug[${step.node.name}/${step.id}]: no intact step library ${lib} here; the node's node-library step installs it. Nothing changed.\n`);
    expect(tree()).toEqual([]);
  });

  it("installs once: the first run reports the directory, a second changes nothing, and the step then runs", () => {
    const first = install();
    expect(first.status).toBe(0);
    expect(first.result!.changed).toEqual([lib]);
    expect(readFileSync(join(lib, "node", "prelude.sh"), "utf8")).toBe([...library.pathOf].find(([, path]) => path === "node/prelude.sh")![0]);
    const second = install();
    expect(second.result!.changed).toEqual([]);
    expect(checkOnly().stdout).toContain("past-the-check");
  });

  it("a step refuses a library whose fragment was edited, or whose SHA256SUMS was rewritten to match; a new install replaces it", () => {
    appendFileSync(join(lib, "runtime", "containerd-install.sh"), "echo hand edit\n");
    expect(checkOnly().status).toBe(1);
    const sums = join(lib, "SHA256SUMS");
    const fixed = readFileSync(sums, "utf8").replace(/^[0-9a-f]{64}(?=  runtime\/containerd-install\.sh$)/m, spawnSync("sha256sum", [join(lib, "runtime", "containerd-install.sh")], { encoding: "utf8" }).stdout.slice(0, 64));
    writeFileSync(sums, fixed);
    const run = checkOnly();
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("no intact step library");
    expect(install().result!.changed).toEqual([lib]);
    expect(checkOnly().stdout).toContain("past-the-check");
    expect(tree().filter((p) => p.startsWith("."))).toEqual([]);
  });

  it("a stage a killed install left is removed by the next install; the three newest other libraries stay", () => {
    const stale = join(root, ".stage.killed");
    mkdirSync(join(stale, "node"), { recursive: true });
    const old = new Date(Date.now() - 3600_000);
    utimesSync(stale, old, old);
    for (let i = 0; i < 5; i++) {
      const other = join(root, `old${i}`);
      mkdirSync(other);
      const at = new Date(Date.now() - (10 - i) * 60_000);
      utimesSync(other, at, at);
    }
    rmSync(lib, { recursive: true });
    expect(install().result!.changed).toEqual([lib]);
    expect(tree().filter((p) => !p.includes("/"))).toEqual([library.hash, "old2", "old3", "old4"].sort());
  });
});
