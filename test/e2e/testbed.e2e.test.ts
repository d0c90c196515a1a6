import { lookup } from "node:dns/promises";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BRIDGE,
  containerdReleaseChecksums,
  startTestbed,
  testbedNodes,
  testbedUnavailableReason,
  type Testbed,
} from "./testbed";
import { waitForFreeBridge } from "./harness/scenarios";
import { BEDS_DIR } from "./testbed/settings";

const unavailable = testbedUnavailableReason();
const gone = (pid: number) => !existsSync(`/proc/${pid}`);

describe.skipIf(unavailable)(`test bed of booted Debian nodes${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let bed: Testbed;

  beforeAll(async () => {
    bed = await startTestbed({ nodes: testbedNodes(2) });
  }, 900_000);

  afterAll(() => bed?.stop(), 60_000);

  it("lets root in over SSH with the bed's key, on every node under its own name", async () => {
    for (const node of bed.nodes) {
      const result = await bed.ssh(node, "hostname; id -u");
      expect(result).toMatchObject({ code: 0, stdout: `${node.name}\n0\n` });
    }
  }, 60_000);

  it("boots systemd to running or degraded", async () => {
    for (const node of bed.nodes) {
      const { stdout } = await bed.ssh(node, "systemctl is-system-running");
      expect(["running", "degraded"]).toContain(stdout.trim());
    }
  }, 60_000);

  it("installs from the bed's mirror, which offers containerd 1.6.20 and 2.1.9 and the CNI plugins 1.1.1", async () => {
    const node = bed.nodes[0]!;
    expect((await bed.ssh(node, "apt-get update")).code).toBe(0);
    const policy = await bed.ssh(node, "apt-cache policy containerd");
    expect(policy.stdout).toMatch(/^\s+2\.1\.9\S* 500\n\s+500 http:\/\/10\.231\.0\.1:8431\/debian \.\/ Packages$/m);
    expect(policy.stdout).toMatch(/^\s+1\.6\.20\S* 500\n\s+500 http:\/\/10\.231\.0\.1:8431\/debian \.\/ Packages$/m);
    const cni = await bed.ssh(node, "apt-cache policy containernetworking-plugins");
    expect(cni.stdout).toMatch(/^\s+1\.1\.1\S* 500\n\s+500 http:\/\/10\.231\.0\.1:8431\/debian \.\/ Packages$/m);
    const sources = await bed.ssh(node, "apt-get indextargets --format '$(SITE)' | sort -u");
    expect(sources.stdout).toBe(`${bed.mirrorUrl}/debian\n`);
  }, 120_000);

  it("installs either containerd version as kubeplug asks for it, and it starts", async () => {
    const versions = ["1.6.20", "2.1.9"];
    await Promise.all(
      bed.nodes.map(async (node, i) => {
        const install = `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends 'containerd=${versions[i]}*'`;
        const result = await bed.ssh(node, `${install} && containerd --version && systemctl is-active containerd`);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toContain(` ${versions[i]}`);
        expect(result.stdout).toMatch(/^active$/m);
      }),
    );
  }, 300_000);

  it("keeps nodes' units apart: each node has its own cgroup tree, and stopping a unit on one leaves the others'", async () => {
    const systemdCgroup = (pid: number) => /^\d+:name=systemd:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1];
    const cgroups = bed.nodes.map((node) => systemdCgroup(node.initPid));
    bed.nodes.forEach((node, i) => expect(cgroups[i]).toContain(`/${node.name}/`));
    expect(new Set(cgroups).size).toBe(bed.nodes.length);
    const [node1, node2] = bed.nodes;
    expect((await bed.ssh(node1!, "systemctl stop containerd; systemctl is-active containerd")).stdout).toBe("inactive\n");
    expect((await bed.ssh(node2!, "systemctl is-active containerd")).stdout).toBe("active\n");
  }, 60_000);

  it("serves stand-in containerd release tarballs with the checksums it reports", async () => {
    const checksums = await containerdReleaseChecksums();
    expect(Object.keys(checksums).sort()).toEqual(["1.6.20", "2.1.9"]);
    for (const [version, { amd64 }] of Object.entries(checksums)) {
      const url = `${bed.mirrorUrl}/releases/containerd/v${version}/containerd-${version}-linux-amd64.tar.gz`;
      const result = await bed.ssh(bed.nodes[0]!, `curl -fsS ${url} | tee /tmp/release.tgz | sha256sum && tar -tzf /tmp/release.tgz`);
      expect(result.code, result.stderr).toBe(0);
      expect(`sha256:${result.stdout.split(" ")[0]}`).toBe(amd64);
      expect(result.stdout).toMatch(/^bin\/containerd$/m);
      expect(result.stdout).toMatch(/^bin\/containerd-shim-runc-v2$/m);
      expect(result.stdout).toMatch(/^bin\/ctr$/m);
    }
  }, 120_000);

  it("reaches the other nodes and nothing beyond the bed", async () => {
    const [node1, node2] = bed.nodes;
    expect((await bed.ssh(node1!, `timeout 5 bash -c '</dev/tcp/${node2!.address}/22'`)).code).toBe(0);
    // By name (no DNS on the link) and by the address the host resolves, so routing is checked too.
    const { address } = await lookup("deb.debian.org", { family: 4 });
    for (const curl of ["curl -sS -m 5 http://deb.debian.org/debian/", `curl -sS -m 5 --resolve deb.debian.org:80:${address} http://deb.debian.org/debian/`]) {
      const result = await bed.ssh(node1!, curl);
      expect(result.code, `${curl} should fail: ${result.stdout}`).not.toBe(0);
    }
  }, 60_000);

  it("stop() ends every process it started and removes the bridge and the bed directory", async () => {
    const pids = [bed.mirrorPid, ...bed.nodes.flatMap((node) => [node.nspawnPid, node.initPid])];
    await bed.stop();
    expect(pids.filter((pid) => !gone(pid))).toEqual([]);
    expect(existsSync(`/sys/class/net/${BRIDGE}`)).toBe(false);
    expect(existsSync(bed.dir)).toBe(false);
  }, 120_000);

  // The 30 s limit is the assertion: waiting on a bridge nobody runs would take waitForFreeBridge's 10 minutes.
  it("a bridge whose bed is gone (a bed directory whose starter is dead, or no directory at all) is removed, not waited on", async () => {
    const dead = join(BEDS_DIR, "19700101000000-1");
    for (const leftover of ["state", "bare"]) {
      execFileSync("ip", ["link", "add", "name", BRIDGE, "type", "bridge"]);
      if (leftover === "state") {
        mkdirSync(dead, { recursive: true });
        writeFileSync(join(dead, "state.json"), JSON.stringify({ id: "19700101000000-1", dir: dead, owner: { pid: spawnSync("true").pid, startTime: 0 }, bridge: true, nodes: [] }));
      }
      await waitForFreeBridge();
      expect(existsSync(`/sys/class/net/${BRIDGE}`), leftover).toBe(false);
      expect(existsSync(dead), leftover).toBe(false);
    }
  }, 30_000);
});
