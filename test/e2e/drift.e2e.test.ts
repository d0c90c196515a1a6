import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/drift";
import { runSsh, sshArgs } from "../../src/drift/ssh";
import { localEnvironment } from "../../src/plan/preflight";
import { failures, finishBed, onNode, Scenarios, Stack, waitForFreeBridge, withCrictlStandin } from "./harness/scenarios";
import { startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";

// Issue 14 item 3, the drift check, on booted Debian nodes: the dev stack's edge pool (containerd
// 2.1.9 from the bed's package mirror) and its CNI (Debian's plugins 1.1.1 copied into /opt/cni/bin),
// applied by the harness; then `npm run drift` (its main, in this process) after each hand-made change.
// The drifts build on each other, in order, on node1 and node2.
const skip = testbedUnavailableReason();
const NODES = testbedNodes(2);
const ROOT = join(__dirname, "..", "..");
const HOSTS_TOML = "/etc/containerd/certs.d/docker.io/hosts.toml";
const PLUGIN = "/opt/cni/bin/portmap";
// On the bed's link, with nothing on it.
const NOWHERE = "10.231.0.99";

interface JsonReport {
  exitCode: number;
  nodes: { node: string; status: string; reason?: string; ms: number; findings: { kind: string; message: string; path?: string; unit?: string; name?: string; actual?: string }[] }[];
}

describe.skipIf(skip)(`drift check on real test nodes${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed;
  let work: string;
  let project: string;
  let scenarios: Scenarios;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-drift-"));
    project = join(work, "project");
    mkdirSync(join(project, "stacks"), { recursive: true });
    scenarios = new Scenarios(work);
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
    const report = await scenarios.apply("apply containerd 2.1.9 + CNI", stack(), {});
    expect(report.ok, failures(report)).toBe(true);
  });

  afterAll(() => finishBed(bed, work, scenarios, "drift e2e figures"));

  function stack(extraNodes: { name: string; address: string }[] = []): Stack {
    const s = yaml.load(readFileSync(join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8")) as Stack;
    const cluster = s.config["kubeplug:cluster"];
    cluster.ssh.privateKeyPath = bed.keyPath;
    cluster.pools = cluster.pools.filter((p: { name: string }) => p.name === "edge");
    cluster.nodes = [...NODES, ...extraNodes].map((n, i) => ({ name: n.name, pool: "edge", address: n.address, podCIDR: `10.244.${i + 1}.0/24` }));
    return s;
  }

  /** Runs the drift CLI on `s` (as applied: with the crictl stand-in) and returns its exit code and output. */
  async function drift(s: Stack, format: "json" | "text" = "json"): Promise<{ code: number; output: string }> {
    writeFileSync(join(project, "stacks", "Pulumi.drift.yaml"), yaml.dump(await withCrictlStandin(s)));
    let output = "";
    const sink = { write: (t: string) => void (output += t) };
    const code = await main(["--stack", "drift", "--format", format], project, localEnvironment(project), sink, sink);
    return { code, output };
  }
  const json = async (s: Stack = stack()) => {
    const { code, output } = await drift(s);
    const report = JSON.parse(output) as JsonReport;
    expect(report.exitCode).toBe(code);
    return { code, report, node: (name: string) => report.nodes.find((n) => n.node === name)! };
  };
  const on = (node: string, script: string) => onNode(bed, node, script);

  it("reports every node clean right after the apply (exit 0), and measures the check against one bare SSH round trip", async () => {
    const { code, report } = await json();
    expect(report.nodes.map((n) => [n.node, n.status, n.findings.map((f) => f.message)])).toEqual(NODES.map((n) => [n.name, "clean", []]));
    expect(code).toBe(0);
    const local = localEnvironment(work);
    for (const node of NODES) {
      const connection = { host: node.address, port: 22, user: "root", privateKeyPath: bed.keyPath, hostKeyCheck: "unchecked" as const };
      const bare = await runSsh(sshArgs(connection, "/dev/null", local, ["true"]), "");
      const probe = report.nodes.find((n) => n.node === node.name)!.ms;
      console.log(`drift timing ${node.name}: drift check ${probe.toFixed(0)} ms, bare ssh round trip ${bare.ms.toFixed(0)} ms, ratio ${(probe / bare.ms).toFixed(2)} (target <= 1.5)`);
    }
    console.log(`drift text output (clean):\n${(await drift(stack(), "text")).output}`);
  });

  it("reports a node at an address with nothing on it as unreachable, not as drift (exit 3)", async () => {
    const { code, report, node } = await json(stack([{ name: "node3", address: NOWHERE }]));
    expect(node("node3")).toMatchObject({ status: "unreachable", findings: [] });
    expect(node("node3").reason).toMatch(/10\.231\.0\.99/);
    expect(report.nodes.filter((n) => n.node !== "node3").map((n) => n.status)).toEqual(["clean", "clean"]);
    expect(code).toBe(3);
  });

  it("names hosts.toml after a hand edit (exit 2), and only that", async () => {
    await on("node1", `echo '# a hand edit' >> ${HOSTS_TOML}`);
    const { code, node } = await json();
    expect(code).toBe(2);
    expect(node("node1").findings.map((f) => [f.kind, f.path])).toEqual([["file-changed", HOSTS_TOML]]);
    expect(node("node2").status).toBe("clean");
  });

  it("names the unit when containerd is stopped", async () => {
    await on("node1", "systemctl stop containerd");
    const { code, node } = await json();
    expect(code).toBe(2);
    expect(node("node1").findings.map((f) => [f.kind, f.unit ?? f.path])).toEqual([["file-changed", HOSTS_TOML], ["unit-inactive", "containerd"]]);
    expect(node("node1").findings[1]!.message).toBe("unit containerd: inactive, should be active");
  });

  it("names a CNI plugin binary that was removed", async () => {
    await on("node2", `rm ${PLUGIN}`);
    const { node } = await json();
    expect(node("node2").findings.map((f) => [f.kind, f.path])).toEqual([["file-missing", PLUGIN]]);
  });

  it("names the version when containerd is downgraded from the bed's mirror (2.1.9 -> 1.6.20)", async () => {
    await on("node2", "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades --no-install-recommends -o Dpkg::Options::=--force-confold 'containerd=1.6.20*' >/dev/null 2>&1");
    const { node } = await json();
    const findings = node("node2").findings;
    expect(findings.find((f) => f.kind === "package-version")).toMatchObject({ name: "containerd", actual: expect.stringMatching(/^1\.6\.20/) });
    expect(findings.find((f) => f.kind === "daemon-version")).toMatchObject({ unit: "containerd", actual: "1.6.20" });
    console.log(`drift text output (after the changes):\n${(await drift(stack(), "text")).output}`);
  });
});
