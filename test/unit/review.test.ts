import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/render";
import { LocalEnvironment } from "../../src/plan/preflight";
import { captureOutput } from "../support/capture-output";
import { COMMENT_LIMIT, formatMarkdown } from "../../src/review/markdown";
import { FileReview, Review } from "../../src/review/model";

// The PR review view of `npm run render`: markdown and JSON against a base render, grouped nodes,
// restarts, credentials never shown, GitHub's comment limit, and --base-ref on this repository.
const repo = join(__dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "kubeplug-review-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const machine: LocalEnvironment = { projectDir: work, homeDir: join(work, "home"), env: {} };

function run(argv: string[], projectDir = repo): { code: number; stdout: string; stderr: string } {
  return captureOutput(() => main(argv, projectDir, machine));
}

const prodStack = readFileSync(join(repo, "stacks", "Pulumi.prod.yaml"), "utf8");

/** A project whose prod stack is this repo's with `edit` applied. */
function project(name: string, edit: (stack: string) => string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, "stacks"), { recursive: true });
  const edited = edit(prodStack);
  expect(edited).not.toBe(prodStack);
  writeFileSync(join(dir, "stacks", "Pulumi.prod.yaml"), edited);
  return dir;
}

/** The prod render of this repository, the base every change below is compared with. */
const base = join(work, "base");
beforeAll(() => {
  expect(run(["--stack", "prod", "--out", base]).code).toBe(0);
});

/** A second docker.io-like mirror for ghcr.io on every containerd pool of prod. */
const addMirror = (stack: string) => stack.replace("      hosts:\n        docker.io:", "      hosts:\n        ghcr.io:\n          mirrors:\n            - url: https://ghcr-mirror.prod.example.com\n        docker.io:");

describe("render --format json|markdown against a base render", () => {
  const dir = project("mirror", addMirror);

  it("json: a mirror added to prod is one entry for the 3 nodes of pool general, with the new hosts.toml as a diff and no restart", () => {
    const result = run(["--stack", "prod", "--out", join(work, "mirror-out"), "--base", base, "--format", "json"], dir);
    expect(result.code).toBe(0);
    const review = JSON.parse(result.stdout) as Review;
    expect(review).toMatchObject({ stack: "prod", hadBase: true, nodes: 6, changedNodes: 6, steps: 47, changedSteps: 6, removedNodes: [], cluster: [] });
    const general = review.entries.find((e) => e.pools.includes("general"))!;
    expect(general.nodes).toEqual(["gen-1", "gen-2", "gen-3"]);
    expect(general.change.steps).toEqual([{ step: "06-containerd-configure", phase: "configure", change: "changed", summary: "config version 3 for containerd 2.1.9; handlers runc; 2 registries" }]);
    const hosts = general.change.files.find((f) => f.path === "/etc/containerd/certs.d/ghcr.io/hosts.toml")!;
    expect(hosts).toEqual({
      path: "/etc/containerd/certs.d/ghcr.io/hosts.toml",
      change: "added",
      added: 3,
      removed: 0,
      diff: [
        "--- a/etc/containerd/certs.d/ghcr.io/hosts.toml",
        "+++ b/etc/containerd/certs.d/ghcr.io/hosts.toml",
        "@@ -0,0 +1,3 @@",
        "+# Managed by kubeplug. Mirrors are tried in the order listed, then the server.",
        '+[host."https://ghcr-mirror.prod.example.com"]',
        '+capabilities = [ "pull", "resolve" ]',
        "",
      ].join("\n"),
    });
    // containerd reads hosts.toml at every pull: nothing restarts for it.
    expect(general.change.services).toEqual([]);
    expect(general.change.drained).toBe(false);
    // gVisor's pool renders another configure step, so its 2 nodes are an entry of their own; CRI-O
    // gets the mirror in registries.conf.d, which it re-reads on a reload.
    expect(review.entries.map((e) => e.nodes)).toEqual([["gen-1", "gen-2", "gen-3"], ["sbx-1", "sbx-2"], ["metal-1"]]);
    expect(review.entries[2]!.change.services).toEqual([{ unit: "crio", action: "reload", because: ["/etc/containers/registries.conf.d/50-kubeplug.conf changed"] }]);
  });

  it("markdown: the same change as a grouped entry with the diff, under the comment limit", () => {
    const result = run(["--stack", "prod", "--out", join(work, "mirror-md"), "--base", base, "--format", "markdown"], dir);
    expect(result.code).toBe(0);
    const md = result.stdout;
    expect(md).toContain("#### 3 nodes: same change: gen-1, gen-2, gen-3\n");
    expect(md).toContain("#### 2 nodes: same change: sbx-1, sbx-2\n");
    expect(md).toContain("Compared with the render in `" + base + "`: **6 of 47 step(s)** new or changed, **6 of 6 node(s)** change, 3 distinct change(s).");
    expect(md).toContain('```diff\n--- a/etc/containerd/certs.d/ghcr.io/hosts.toml\n+++ b/etc/containerd/certs.d/ghcr.io/hosts.toml\n@@ -0,0 +1,3 @@\n+# Managed by kubeplug. Mirrors are tried in the order listed, then the server.\n+[host."https://ghcr-mirror.prod.example.com"]\n');
    expect(md).toContain("| crio | **reload** | 1: metal-1 | /etc/containers/registries.conf.d/50-kubeplug.conf changed |");
    expect(md).not.toContain("containerd | **restart**");
    expect(md).not.toContain("Left out");
  });

  it("a config.toml change restarts containerd and a CRI-O registries change reloads CRI-O", () => {
    const edited = project("restart", (s) => s.replace("      - name: general\n        labels: { node.kubeplug.dev/pool: general }\n        runtime:\n          kind: containerd\n", "      - name: general\n        labels: { node.kubeplug.dev/pool: general }\n        runtime:\n          kind: containerd\n          sandboxImage: registry.k8s.io/pause:3.9\n").replace("mirrors: [{ url: https://registry-mirror.prod.example.com }]", "mirrors: [{ url: https://registry-mirror.prod.example.com }, { url: https://second-mirror.prod.example.com }]"));
    const review = JSON.parse(run(["--stack", "prod", "--out", join(work, "restart-out"), "--base", base, "--format", "json"], edited).stdout) as Review;
    const byNodes = Object.fromEntries(review.entries.map((e) => [e.nodes.join(","), e.change.services]));
    expect(byNodes["gen-1,gen-2,gen-3"]).toEqual([{ unit: "containerd", action: "restart", because: ["/etc/containerd/config.toml changed"] }]);
    expect(byNodes["metal-1"]).toEqual([{ unit: "crio", action: "reload", because: ["/etc/containers/registries.conf.d/50-kubeplug.conf changed"] }]);
  });
});

describe("a runtime swap in the review", () => {
  const dir = project("swap", (s) => s.replace("          install: { from: release }\n      - name: sandboxed", "          install: { from: release }\n        swap: { from: { kind: containerd, version: 1.6.20 }, maxUnavailable: 1 }\n      - name: sandboxed"));

  it("names the drained nodes, the kubelet restart and the waves; renumbered steps with the same script are unchanged", () => {
    const result = run(["--stack", "prod", "--out", join(work, "swap-out"), "--base", base, "--format", "json"], dir);
    const review = JSON.parse(result.stdout) as Review;
    expect(review.entries.map((e) => e.nodes)).toEqual([["gen-1"], ["gen-2"], ["gen-3"]]);
    const gen1 = review.entries[0]!.change;
    // The six swap phases are new; containerd-install moved from 04 to 07 with the same script.
    expect(gen1.steps.map((s) => `${s.step} ${s.change}`)).toEqual(["03-swap-preflight new", "04-swap-drain new", "05-swap-stop-old new", "10-swap-prepull new", "11-swap-repoint new", "12-swap-start new"]);
    expect(gen1.drained).toBe(true);
    expect(gen1.services).toEqual([{ unit: "kubelet", action: "restart", because: ["runtime swap: swap-start repoints it to the new runtime"] }]);
    expect(review.swaps.map((s) => ({ pool: s.pool, waves: s.waves.map((w) => w.nodes) }))).toEqual([{ pool: "general", waves: [["gen-1"], ["gen-2"], ["gen-3"]] }]);
    const md = formatMarkdown(review);
    expect(md).toContain("| — | **drain** (cordon, evict, uncordon after the swap) | 3: gen-1, gen-2, gen-3 | runtime swap |");
    expect(md).toContain("#### Runtime swap of pool `general`: containerd 1.6.20 → containerd 2.1.9 (config version 3)\n\n3 wave(s) of at most 1 worker(s); control-plane nodes last, one at a time. A failing node rolls back and no later wave starts.\n\n1. gen-1\n2. gen-2\n3. gen-3\n");
  });
});

describe("credentials never appear", () => {
  const secret = "hunter2-do-not-print";
  const cipher = Buffer.from(secret).toString("base64");
  // Another user name and another secret key for the mirror of every containerd pool.
  const dir = project("credentials", (s) =>
    s
      .replace("  kubeplug:mirrorPassword:\n", `  kubeplug:rotatedPassword:\n    secure: v1:${cipher}\n  kubeplug:mirrorPassword:\n`)
      .replace("              auth:\n                username: kubeplug\n                password: { from: config, key: mirrorPassword }", "              auth:\n                username: ci-puller\n                password: { from: config, key: rotatedPassword }"),
  );

  it("a changed registry credential shows only 'credentials changed' and restarts containerd; the values are nowhere", () => {
    for (const format of ["markdown", "json", "text"]) {
      const result = run(["--stack", "prod", "--out", join(work, `credentials-${format}`), "--base", base, "--format", format], dir);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain(secret);
      expect(result.stdout).not.toContain(cipher);
      expect(result.stdout).not.toContain("ci-puller");
      if (format === "text") {
        expect(result.stdout).toContain("    06-containerd-configure    configure changed   config version 3 for containerd 2.1.9; handlers runc; 1 registry\n        stdin: registry credentials for registry-mirror.prod.example.com (secret, not rendered; credentials changed)\n");
        expect(result.stdout).toContain("5 of 47 step(s) new or changed (compared with the previous render)");
      } else if (format === "markdown") {
        expect(result.stdout).toContain("- `~ steps/06-containerd-configure.stdin.txt`: **credentials changed** (registry credentials for registry-mirror.prod.example.com; values are never shown)");
        expect(result.stdout).toContain("| containerd | **restart** | 5: gen-1, gen-2, gen-3, sbx-1, sbx-2 | registry credentials changed |");
        expect(result.stdout).toContain("- step `06-containerd-configure` (configure) **changed**: config version 3 for containerd 2.1.9; handlers runc; 1 registry (credentials changed)");
      } else {
        const review = JSON.parse(result.stdout) as Review;
        const note = review.entries[0]!.change.files.find((f) => f.credentials)!;
        expect(note).toEqual({ path: "steps/06-containerd-configure.stdin.txt", change: "changed", credentials: "registry credentials for registry-mirror.prod.example.com", added: 0, removed: 0 });
      }
    }
  });

  it("a base whose stdin note holds a value (a hand-made render) still shows no diff of it", () => {
    const tainted = join(work, "tainted-base");
    cpSync(base, tainted, { recursive: true });
    const note = join(tainted, "nodes", "gen-1", "steps", "06-containerd-configure.stdin.txt");
    writeFileSync(note, `password: ${secret}\n`);
    const state = JSON.parse(readFileSync(join(tainted, ".kubeplug-render.json"), "utf8"));
    state.files["nodes/gen-1/steps/06-containerd-configure.stdin.txt"] = "0".repeat(64);
    writeFileSync(join(tainted, ".kubeplug-render.json"), JSON.stringify(state));
    const result = run(["--stack", "prod", "--out", join(work, "tainted-out"), "--base", tainted, "--format", "json"]);
    expect(result.stdout).toContain('"credentials": "registry credentials for registry-mirror.prod.example.com"');
    expect(result.stdout).not.toContain(secret);
  });
});

describe("GitHub's comment limit", () => {
  it("a first render of prod (every file new, about 1 MB) stays under 65,536 characters and says what it left out", () => {
    const empty = join(work, "empty");
    mkdirSync(empty);
    const result = run(["--stack", "prod", "--out", join(work, "first"), "--base", empty, "--format", "markdown"]);
    expect(result.stdout.length).toBeLessThan(COMMENT_LIMIT);
    expect(result.stdout).toMatch(/_Left out to stay under GitHub's 65,536-character comment limit: the diffs of \d+ file\(s\) \(\d+ changed line\(s\)\)\. Read them in full in the same render's `--format json` output, or in the render directory `[^`]+\/first`/);
  });

  const bigDiff = (n: number): FileReview => ({ path: `/etc/big-${n}.conf`, change: "changed", diff: `--- a/etc/big-${n}.conf\n+++ b/etc/big-${n}.conf\n@@ -1,400 +1,400 @@\n${"-old line\n".repeat(400)}${"+new line\n".repeat(400)}`, added: 400, removed: 400 });
  const review = (count: number): Review => ({
    stack: "big", base: "a base", hadBase: true, renderDir: "out/big", nodes: count, changedNodes: count, steps: count, changedSteps: count, removedNodes: [], cluster: [], swaps: [], warnings: [],
    entries: Array.from({ length: count }, (_, i) => ({
      nodes: [`node-${i}`], pools: ["p"], shownFor: `node-${i}`,
      change: { steps: [{ step: "06-containerd-configure", phase: "configure", change: "changed" as const, summary: "x" }], files: [bigDiff(i)], services: [], drained: false },
    })),
  });

  it("names every group of nodes first, then shows the diffs that fit and counts exactly those it leaves out", () => {
    const md = formatMarkdown(review(100));
    expect(md.length).toBeLessThan(COMMENT_LIMIT);
    expect(md.split("\n#### node ").length - 1).toBe(100);
    const shown = md.split("```diff\n").length - 1;
    expect(shown).toBeGreaterThan(0);
    expect(md).toContain(`comment limit: the diffs of ${100 - shown} file(s) (${(100 - shown) * 800} changed line(s)).`);
  });

  it("too many groups to name: those that do not fit are counted with their nodes", () => {
    const md = formatMarkdown(review(2000));
    expect(md.length).toBeLessThan(COMMENT_LIMIT);
    const listed = md.split("\n#### node ").length - 1;
    expect(listed).toBeGreaterThan(0);
    expect(listed).toBeLessThan(2000);
    expect(md).toContain(`comment limit: ${2000 - listed} more change(s) on ${2000 - listed} node(s) and the diffs of 2000 file(s) (1600000 changed line(s)).`);
  });
});

describe("--base-ref", () => {
  it("HEAD of a clone of this repository: no changes", () => {
    const clone = join(work, "clone");
    execFileSync("git", ["clone", "--quiet", "--shared", repo, clone]);
    symlinkSync(join(repo, "node_modules"), join(clone, "node_modules"), "dir");
    const result = run(["--stack", "dev", "--out", join(work, "ref-out"), "--base-ref", "HEAD", "--format", "markdown"], clone);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^<!-- kubeplug-plan stack=dev -->\n### kubeplug plan: stack `dev`\n\nCompared with `HEAD` \([0-9a-f]{12}\): \*\*no changes\*\* \(24 step\(s\) on 3 node\(s\) unchanged\)\.\n/);
  }, 60_000);

  it("a ref that does not exist is one line on stderr", () => {
    const result = run(["--stack", "dev", "--out", join(work, "ref-bad"), "--base-ref", "no-such-ref", "--format", "json"]);
    expect(result).toEqual({ code: 1, stdout: "", stderr: `--base-ref no-such-ref: no such commit in ${repo}\n` });
  });
});
