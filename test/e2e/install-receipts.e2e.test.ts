import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareNode, describeFinding } from "../../src/drift/compare";
import { expectedState } from "../../src/drift/expected";
import { parseProbe, probeScript } from "../../src/drift/probe";
import { parseStackFile } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";
import { withCrictlStandin } from "./harness/bed";
import { command, failures, finishBed, onNode, Scenarios, Stack, waitForFreeBridge } from "./harness/scenarios";
import { cniPluginsReleases, CNI_VERSIONS, StandinRelease } from "./standins/artifacts";
import { containerdReleaseChecksums, startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";

// Issue 14 item 5 on a booted Debian node: the release installs (containerd, crictl, the CNI plugins;
// STAND-IN tarballs with the upstream layout, as none can be downloaded here) record a receipt, and a
// converged run proves itself from it without reading any tarball. Every apply runs every step (as
// after a kubeplug upgrade). Scenarios build on each other, in order.
const skip = testbedUnavailableReason();
const NODES = testbedNodes(1);
const CACHE = "/var/cache/kubeplug/downloads";
const INSTALL_STEPS = ["containerd-install", "crictl-install", "cni-plugins-install"];
const WANTED = ["bridge", "host-local", "loopback", "portmap"];

describe.skipIf(skip)(`install receipts on a real test node${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed;
  let work: string;
  let scenarios: Scenarios;
  let cni: StandinRelease;
  let containerdSums: Record<string, { amd64: string }>;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-receipts-"));
    scenarios = new Scenarios(work);
    cni = await cniPluginsReleases();
    containerdSums = await containerdReleaseChecksums();
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
  });

  afterAll(() => finishBed(bed, work, scenarios, "install receipt e2e figures"));

  const on = (script: string) => onNode(bed, "node1", script);

  function stack(version = "1.6.20"): Stack {
    return {
      config: {
        "kubeplug:cluster": {
          name: "receipts",
          kubelet: { cgroupDriver: "systemd" },
          ssh: bed.stackSsh,
          downloads: {
            baseUrls: { containerd: `${bed.mirrorUrl}/releases/containerd`, "cni-plugins": cni.baseUrl },
            checksums: { containerd: containerdSums, "cni-plugins": cni.checksums },
          },
          pools: [{ name: "rel", runtime: { kind: "containerd", version, install: { from: "release" } } }],
          nodes: [{ name: "node1", pool: "rel", address: NODES[0]!.address, podCIDR: "10.244.1.0/24" }],
        },
        "kubeplug:network": {
          podCIDR: "10.244.0.0/16",
          cni: {
            plugins: { install: { from: "release", version: CNI_VERSIONS.old }, wanted: WANTED },
            conflists: [{ name: "kubeplug", cniVersion: "1.0.0", plugins: [{ type: "bridge", bridge: "kp0", isGateway: true, ipam: { type: "host-local" } }] }],
          },
        },
      },
    };
  }

  /** Every step again, as Pulumi runs them when the step library changed. */
  async function applyAll(scenario: string, s: Stack = stack()) {
    const report = await scenarios.apply(scenario, s);
    expect(report.ok, failures(report)).toBe(true);
    return report;
  }

  /** The (sha256, path) pairs of a step's receipt, as its ownership list writes them. */
  const receiptPairs = (step: string) => on(`awk '$1 == "file" { sha = $2; sub(/^file [^ ]+ [^ ]+ [^ ]+ /, ""); print sha " " $0 }' /var/lib/kubeplug/receipts/${step}`);
  /** What must not move when nothing changes: the installed files' hashes, modes and mtimes, the receipts, containerd's PID. */
  const snapshot = () =>
    on(`find /usr/local/bin /opt/cni/bin /etc/systemd/system/containerd.service /var/lib/kubeplug/receipts /var/lib/kubeplug/owned -type f ! -name '*.kubeplug.bak' -printf '%p %T@ %m\\n' | sort
        sha256sum /usr/local/bin/* /opt/cni/bin/* | sort
        systemctl show -p MainPID --value containerd`);

  /** What the drift check (src/drift) finds on node1 against the stack, as `npm run drift` would. */
  async function drift(s: Stack = stack()): Promise<string[]> {
    const config = parseStackFile("receipts", yaml.dump(await withCrictlStandin(s)), "receipts").config;
    const expected = expectedState(config, planCluster(config))[0]!;
    const run = await bed.ssh("node1", "bash -s", { input: probeScript(expected) });
    const report = parseProbe(run.stdout);
    if ("invalid" in report) throw new Error(`${report.invalid}: ${run.stderr}`);
    return compareNode(expected, report).map(describeFinding);
  }

  it("fresh install: every release install writes a receipt that agrees with its ownership list", async () => {
    const report = await applyAll("fresh install (releases)");
    for (const step of INSTALL_STEPS) expect(command(report, `node1-${step}`).result?.changed.length, step).toBeGreaterThan(0);
    for (const step of INSTALL_STEPS) {
      expect((await on(`head -n 2 /var/lib/kubeplug/receipts/${step}`)).split("\n")[0]).toBe("kubeplug-receipt 1");
      expect(await receiptPairs(step), step).toBe(await on(`cat /var/lib/kubeplug/owned/${step}.list`));
    }
    expect(await receiptPairs("containerd-install")).toContain("/usr/local/bin/containerd");
    expect(await on("containerd --version")).toContain("1.6.20");
  });

  it("converged: every step again changes nothing, and no tarball is read (the download cache, removed, stays empty)", async () => {
    await on(`rm -rf ${CACHE}`);
    const before = await snapshot();
    const report = await applyAll("converged, cache removed");
    for (const c of report.commands) expect({ name: c.name, changed: c.result?.changed, restarted: c.result?.restarted }).toEqual({ name: c.name, changed: [], restarted: [] });
    for (const step of INSTALL_STEPS) expect(command(report, `node1-${step}`).stdout, step).not.toContain("downloading");
    expect(command(report, "node1-containerd-install").stdout).toContain("installed as its receipt records");
    expect(await on(`ls -A ${CACHE} 2>/dev/null || echo absent`)).toBe("absent");
    expect(await snapshot()).toEqual(before);
    scenarios.last().lost = "nothing";
  });

  it("a hand-edited binary, a chmod-ed plugin and a deleted one are repaired by the full install, and the next run is converged again", async () => {
    const wanted = await on("sha256sum /usr/local/bin/ctr /opt/cni/bin/bridge /opt/cni/bin/portmap");
    await on("printf 'x' >>/usr/local/bin/ctr && chmod 0700 /opt/cni/bin/bridge && rm /opt/cni/bin/portmap");
    // The drift check reads the same record: the binary's bytes from the ownership list, modes from the receipt.
    const found = await drift();
    expect(found).toEqual(expect.arrayContaining(["/opt/cni/bin/bridge: mode 0700, should be 0755", "/opt/cni/bin/portmap: missing"]));
    expect(found.some((f) => f.startsWith("/usr/local/bin/ctr: changed outside kubeplug"))).toBe(true);
    const report = await applyAll("hand edits repaired");
    expect(command(report, "node1-containerd-install").stdout).toContain("a file the install receipt lists changed or is gone");
    expect(command(report, "node1-containerd-install").result?.changed).toEqual(["/usr/local/bin/ctr"]);
    expect([...(command(report, "node1-cni-plugins-install").result?.changed ?? [])].sort()).toEqual(["/opt/cni/bin/bridge", "/opt/cni/bin/portmap"]);
    expect(await on("sha256sum /usr/local/bin/ctr /opt/cni/bin/bridge /opt/cni/bin/portmap")).toBe(wanted);
    expect(await on("stat -c %a /opt/cni/bin/bridge")).toBe("755");

    expect(await drift()).toEqual([]);
    await on("chmod 0700 /usr/local/bin/containerd-shim-runc-v2");
    expect(await drift()).toEqual(["/usr/local/bin/containerd-shim-runc-v2: mode 0700, should be 0755"]);
    await on("chmod 0755 /usr/local/bin/containerd-shim-runc-v2");
    const again = await applyAll("converged after the repair");
    for (const c of again.commands) expect({ name: c.name, changed: c.result?.changed }).toEqual({ name: c.name, changed: [] });
    expect(command(again, "node1-cni-plugins-install").stdout).toContain("installed as their receipt records");
  });

  it("a damaged receipt falls back to the full install, which finds the files in place and writes the receipt again", async () => {
    await on("sed -i 's/ 755 / 644 /' /var/lib/kubeplug/receipts/containerd-install");
    const report = await applyAll("damaged receipt");
    const install = command(report, "node1-containerd-install");
    expect(install.stdout).toContain("is damaged (its seal does not match)");
    expect(install.result).toMatchObject({ changed: [], restarted: [] });
    expect(await receiptPairs("containerd-install")).toBe(await on("cat /var/lib/kubeplug/owned/containerd-install.list"));
    expect(await on("grep -c ' 755 ' /var/lib/kubeplug/receipts/containerd-install")).not.toBe("0");
  });

  it("a changed version reinstalls: containerd 2.1.9 from its release replaces 1.6.20, restarts once, and records a new receipt", async () => {
    const oldKey = await on("sed -n 2p /var/lib/kubeplug/receipts/containerd-install");
    const report = await applyAll("version change 1.6.20 -> 2.1.9", stack("2.1.9"));
    const install = command(report, "node1-containerd-install");
    expect(install.stdout).toContain("the install receipt is for another install");
    expect(install.result?.changed).toContain("/usr/local/bin/containerd");
    expect(await on("containerd --version")).toContain("2.1.9");
    expect(await on("sed -n 2p /var/lib/kubeplug/receipts/containerd-install")).not.toBe(oldKey);
    expect(await receiptPairs("containerd-install")).toBe(await on("cat /var/lib/kubeplug/owned/containerd-install.list"));
    expect(await on("systemctl is-active containerd")).toBe("active");

    const again = await applyAll("converged on 2.1.9", stack("2.1.9"));
    for (const c of again.commands) expect({ name: c.name, changed: c.result?.changed, restarted: c.result?.restarted }).toEqual({ name: c.name, changed: [], restarted: [] });
    expect(command(again, "node1-containerd-install").stdout).toContain("installed as its receipt records");
  });
});
