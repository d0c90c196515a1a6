import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { withInstallReceipt } from "../../src/components/node/receipt";
import { StepDefinition } from "../../src/components/node/step";

// Install receipts (scripts/receipt.sh): the prelude and receipt.sh run for real under bash, with the
// state directories moved into a temp dir and two "installed" files there.
const SCRIPTS = join(__dirname, "../../src/components/node/scripts");
const PRELUDE = readFileSync(join(SCRIPTS, "prelude.sh"), "utf8");
const RECEIPT = readFileSync(join(SCRIPTS, "receipt.sh"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "kp-receipt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const state = join(dir, "state");
const files = [join(dir, "bin", "tool"), join(dir, "bin", "tool shim")];
const receiptFile = join(state, "receipts", "demo");
const ownedList = join(state, "owned", "demo.list");

function step(body: string, key = "k1") {
  const script = [
    "set -Eeuo pipefail",
    PRELUDE,
    `KP_STATE_DIR=${state} KP_RUN_DIR=${dir}/run KP_LOG_DIR=${dir}/log KP_NODE=n1 KP_STEP=demo KP_ARCH=amd64 KP_SCRIPT_HASH=0 KP_RECEIPT_KEY=${key}`,
    "id() { echo 0; }",
    RECEIPT,
    "kp_begin",
    body,
    "kp_end",
  ].join("\n");
  return spawnSync("bash", ["-c", script], { encoding: "utf8" });
}

const INSTALL = `KP_OWNED=(${files.map((f) => `'${f}'`).join(" ")}); kp_receipt_write`;
const CHECK = 'if kp_receipt_current; then echo "receipt: current ${#KP_OWNED[@]}"; else echo "receipt: stale"; fi';
const verdict = (key?: string) => {
  const run = step(CHECK, key);
  expect(run.status, run.stderr).toBe(0);
  return { verdict: /receipt: (.*)/.exec(run.stdout)![1], stdout: run.stdout };
};

describe("install receipts", () => {
  it("records every owned file (sha256, mode, owner) sealed, and the ownership list agrees with it", () => {
    mkdirSync(join(dir, "bin"), { recursive: true });
    files.forEach((f, i) => writeFileSync(f, `binary ${i}\n`, { mode: 0o755 }));
    const run = step(INSTALL);
    expect(run.status, run.stderr).toBe(0);
    const lines = readFileSync(receiptFile, "utf8").trim().split("\n");
    expect(lines[0]).toBe("kubeplug-receipt 1");
    expect(lines[1]).toBe("key k1");
    const owner = spawnSync("stat", ["-c", "%U:%G", files[0]!], { encoding: "utf8" }).stdout.trim();
    const sha = (f: string) => spawnSync("sha256sum", [f], { encoding: "utf8" }).stdout.split(" ")[0];
    expect(lines.slice(2, -1)).toEqual(files.map((f) => `file ${sha(f)} 755 ${owner} ${f}`));
    expect(lines.at(-1)).toMatch(/^seal [0-9a-f]{64}$/);
    expect(readFileSync(ownedList, "utf8")).toBe(files.map((f) => `${sha(f)} ${f}\n`).join(""));
  });

  it("is current on a converged node: the files join the step's owned files, and nothing is written", () => {
    const before = readFileSync(ownedList, "utf8");
    const { verdict: v, stdout } = verdict();
    expect(v).toBe("current 2");
    expect(stdout).toContain('"changed":[]');
    expect(readFileSync(ownedList, "utf8")).toBe(before);
  });

  it("a converged run that installs a listed file again (unchanged) keeps the receipt as it is, each file once", () => {
    const receipt = readFileSync(receiptFile, "utf8");
    const run = step(`kp_receipt_current; KP_OWNED+=('${files[1]}'); kp_receipt_write; rm -f ${receiptFile}; KP_RECEIPT_CURRENT=0; kp_receipt_write`);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(receiptFile, "utf8")).toBe(receipt);
  });

  it.each([
    ["another key (a different version, source or file set)", () => undefined, "k2", "the install receipt is for another install"],
    ["a hand-edited file", () => writeFileSync(files[0]!, "edited\n"), undefined, "a file the install receipt lists changed or is gone"],
    ["a deleted file", () => rmSync(files[1]!), undefined, "a file the install receipt lists changed or is gone"],
    ["a file with another mode", () => chmodSync(files[1]!, 0o700), undefined, "a file the install receipt lists has another mode or owner"],
    ["a receipt edited by hand", () => writeFileSync(receiptFile, readFileSync(receiptFile, "utf8").replace(" 755 ", " 644 ")), undefined, "is damaged (its seal does not match)"],
    ["a receipt cut short", () => writeFileSync(receiptFile, readFileSync(receiptFile, "utf8").split("\n").slice(0, 3).join("\n")), undefined, "is damaged"],
  ])("is stale for %s, and says why", (_name, damage, key, message) => {
    files.forEach((f, i) => writeFileSync(f, `binary ${i}\n`, { mode: 0o755 }));
    files.forEach((f) => chmodSync(f, 0o755));
    expect(step(INSTALL).status).toBe(0);
    expect(verdict().verdict).toBe("current 2");
    damage();
    const { verdict: v, stdout } = verdict(key);
    expect(v).toBe("stale");
    expect(stdout).toContain(message);
  });

  it("a receipt that cannot be written is removed, with a warning, and the step still succeeds", () => {
    files.forEach((f, i) => writeFileSync(f, `binary ${i}\n`, { mode: 0o755 }));
    rmSync(join(state, "receipts"), { recursive: true, force: true });
    writeFileSync(join(state, "receipts"), "not a directory\n");
    const run = step(INSTALL);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("cannot write");
    expect(run.stdout).toContain("the next run installs in full");
    rmSync(join(state, "receipts"));
    expect(verdict().verdict).toBe("stale");
  });
});

describe("the receipt key", () => {
  const base: StepDefinition = { node: { name: "n1", arch: "amd64" }, id: "containerd-install", phase: "install", summary: "s", vars: { KP_B: "2", KP_A: "1" }, files: [{ path: "/etc/u", content: "unit\n", mode: 0o644 }], body: ["echo body\n"], dependsOn: [] };
  const key = (d: StepDefinition) => withInstallReceipt(d).vars.KP_RECEIPT_KEY;

  it("is the same for the same wants, whatever the order of the variables or the body (the step library)", () => {
    expect(key(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(key({ ...base, vars: { KP_A: "1", KP_B: "2" }, body: ["echo another library\n"] })).toBe(key(base));
  });

  it("changes with a variable (version, source, checksum) or a file's bytes or mode", () => {
    expect(key({ ...base, vars: { ...base.vars, KP_SERVICE_VERSION: "2.1.9" } })).not.toBe(key(base));
    expect(key({ ...base, files: [{ ...base.files[0]!, content: "unit 2\n" }] })).not.toBe(key(base));
    expect(key({ ...base, files: [{ ...base.files[0]!, mode: 0o600 }] })).not.toBe(key(base));
  });

  it("sources receipt.sh before the step's own body", () => {
    const body = withInstallReceipt(base).body;
    expect(body[0]).toContain("kp_receipt_current()");
    expect(body.slice(1)).toEqual(base.body);
  });
});
