import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestbed, Testbed, testbedUnavailableReason } from "./testbed";
import { cniPluginsReleases, CNI_VERSIONS, StandinRelease } from "./standins/artifacts";
import { Applied, command, failures, onNode, Scenarios, Stack, waitForFreeBridge, finishBed } from "./harness/scenarios";

// Issue "CNI": plugin binaries and conflists on booted Debian nodes (systemd-nspawn), applied by the
// harness that runs the Pulumi program's own Command inputs over SSH. The release tarballs are
// STAND-INS with upstream's names and flat layout (v<V>/cni-plugins-linux-amd64-v<V>.tgz), holding
// REAL plugin binaries: Debian bookworm's containernetworking-plugins 1.1.1 and sid's 1.9.1
// (test/e2e/standins/artifacts.ts), served by the bed's mirror with their own checksums.
// Scenarios build on each other, in order: install 1.1.1, upgrade to 1.9.1 dropping a plugin,
// a conflist change, the upgraded plugins running the rendered list, a foreign list that sorts first.
const skip = testbedUnavailableReason();
const NODES = [
  { name: "node1", address: "10.231.0.11", podCIDR: "10.244.1.0/24" },
  { name: "node2", address: "10.231.0.12", podCIDR: "10.244.2.0/24" },
];
const BIN = "/opt/cni/bin";
const CONFLIST = "/etc/cni/net.d/10-kubeplug.conflist";
const WANTED = ["bandwidth", "bridge", "host-local", "loopback", "portmap", "tuning", "vlan"];
const WANTED_AFTER = WANTED.filter((p) => p !== "vlan");
// A provider's binary kubeplug does not own (listed under cni.plugins.external): never touched.
const FOREIGN = "cilium-cni";

describe.skipIf(skip)(`CNI plugins and conflists on real test nodes, upgraded 1.1.1 -> 1.9.1${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;
  let cni: StandinRelease & { plugins: Record<string, Record<string, string>> };
  let stateFile: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-cni-"));
    stateFile = join(work, "state.json");
    scenarios = new Scenarios(work);
    cni = await cniPluginsReleases();
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES.map(({ name, address }) => ({ name, address })) });
    for (const node of NODES) {
      await on(node.name, `mkdir -p ${BIN} && printf '#!/bin/sh\\n# a provider-installed plugin kubeplug does not own\\nexit 0\\n' > ${BIN}/${FOREIGN} && chmod 755 ${BIN}/${FOREIGN} && touch -d '2020-01-02 03:04:05' ${BIN}/${FOREIGN}`);
    }
  });

  afterAll(() => finishBed(bed, work, scenarios, "CNI e2e figures"));

  const on = (node: string, script: string, input?: string) => onNode(bed!, node, script, input);
  const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

  function stack(version: string, wanted: string[], bridge: Record<string, unknown> = {}): Stack {
    return {
      config: {
        "kubeplug:cluster": {
          name: "cni",
          kubelet: { cgroupDriver: "systemd" },
          ssh: bed!.stackSsh,
          downloads: { baseUrls: { "cni-plugins": cni.baseUrl }, checksums: { "cni-plugins": cni.checksums } },
          pools: [{ name: "workers", labels: { "kubeplug.dev/pool": "workers" }, runtime: { kind: "containerd", version: "1.6.20", install: { from: "package" } } }],
          nodes: NODES.map((n) => ({ name: n.name, pool: "workers", address: n.address, podCIDR: n.podCIDR })),
        },
        "kubeplug:network": {
          podCIDR: "10.244.0.0/16",
          cni: {
            plugins: { install: { from: "release", version }, wanted, external: [FOREIGN] },
            conflists: [
              {
                name: "kubeplug",
                cniVersion: "1.0.0",
                plugins: [
                  { type: "bridge", bridge: "kp0", isGateway: true, ...bridge, ipam: { type: "host-local" } },
                  { type: "portmap", capabilities: { portMappings: true } },
                  { type: "bandwidth", capabilities: { bandwidth: true } },
                  { type: "tuning" },
                ],
              },
            ],
          },
        },
      },
    };
  }

  /** name -> "sha256 mtime mode" of every file in binDir, as the node sees it. */
  async function binDir(node: string): Promise<Record<string, string>> {
    const out = await on(node, `cd ${BIN} && for f in *; do printf '%s %s %s\\n' "$f" "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c '%Y %a' "$f")"; done`);
    return Object.fromEntries(out.split("\n").map((line) => [line.split(" ")[0]!, line.split(" ").slice(1).join(" ")]));
  }
  const hashOf = (entry: string | undefined) => entry?.split(" ")[0];

  /** The spec versions a plugin binary on the node says it speaks (CNI_COMMAND=VERSION). */
  async function specVersions(node: string, plugin: string): Promise<string[]> {
    const out = await on(node, `CNI_COMMAND=VERSION ${BIN}/${plugin}`, '{"cniVersion":"1.0.0"}');
    return (JSON.parse(out) as { supportedVersions: string[] }).supportedVersions;
  }

  function expectAllOk(report: Applied) {
    expect(report.ok, failures(report)).toBe(true);
  }

  let foreignBefore: Record<string, string> = {};

  it(`installs plugins ${CNI_VERSIONS.old} from the stand-in release tarball and writes the conflist with each node's subnet`, async () => {
    for (const node of NODES) foreignBefore[node.name] = (await binDir(node.name))[FOREIGN]!;
    const report = await scenarios.apply(`install plugins ${CNI_VERSIONS.old}`, stack(CNI_VERSIONS.old, WANTED), { stateFile });
    expectAllOk(report);
    const bookworm = cni.plugins[CNI_VERSIONS.old]!;
    for (const node of NODES) {
      expect(command(report, `${node.name}-cni-plugins-install`).result?.changed).toEqual(WANTED.map((p) => `${BIN}/${p}`));
      expect(command(report, `${node.name}-cni-conflist`).result?.changed).toEqual([CONFLIST]);
      const bin = await binDir(node.name);
      // Exactly the wanted plugins, byte for byte Debian's 1.1.1 builds, and the provider's binary.
      expect(Object.keys(bin).sort()).toEqual([...WANTED, FOREIGN].sort());
      for (const plugin of WANTED) expect({ plugin, sha: hashOf(bin[plugin]), mode: bin[plugin]!.split(" ")[2] }).toEqual({ plugin, sha: sha256(bookworm[plugin]!), mode: "755" });
      expect(bin[FOREIGN]).toBe(foreignBefore[node.name]);
      expect(await specVersions(node.name, "bridge")).not.toContain("1.1.0");

      const list = JSON.parse(await on(node.name, `cat ${CONFLIST}`));
      expect(list).toMatchObject({ cniVersion: "1.0.0", name: "kubeplug" });
      expect(list.plugins.map((p: { type: string }) => p.type)).toEqual(["bridge", "portmap", "bandwidth", "tuning"]);
      expect(list.plugins[0].ipam).toEqual({ type: "host-local", ranges: [[{ subnet: node.podCIDR }]] });
      expect(await on(node.name, `stat -c '%a' ${CONFLIST}; ls -A /etc/cni/net.d`)).toBe("644\n10-kubeplug.conflist");
    }
    scenarios.last().lost = "nothing";
  });

  it(`upgrades to ${CNI_VERSIONS.new} with vlan no longer wanted: every owned binary replaced, vlan moved aside, ${FOREIGN} untouched`, async () => {
    const before = await binDir("node1");
    const report = await scenarios.apply(`upgrade plugins ${CNI_VERSIONS.old} -> ${CNI_VERSIONS.new}, vlan dropped`, stack(CNI_VERSIONS.new, WANTED_AFTER), { stateFile });
    expectAllOk(report);
    const sid = cni.plugins[CNI_VERSIONS.new]!;
    for (const node of NODES) {
      const step = command(report, `${node.name}-cni-plugins-install`);
      expect([...step.result!.changed].sort()).toEqual([...WANTED_AFTER.map((p) => `${BIN}/${p}`), `${BIN}/vlan`].sort());
      expect(step.stdout).toContain(`removed ${BIN}/vlan (no longer in the stack; kept as ${BIN}/vlan.kubeplug.bak)`);
      const bin = await binDir(node.name);
      for (const plugin of WANTED_AFTER) expect({ plugin, sha: hashOf(bin[plugin]) }).toEqual({ plugin, sha: sha256(sid[plugin]!) });
      expect(bin.vlan).toBeUndefined();
      expect(hashOf(bin["vlan.kubeplug.bak"])).toBe(sha256(cni.plugins[CNI_VERSIONS.old]!.vlan!));
      expect(bin[FOREIGN]).toBe(foreignBefore[node.name]);
      expect(await specVersions(node.name, "bridge")).toContain("1.1.0");
      // The conflist's inputs did not change: the harness, like the engine, does not run it again.
      expect(command(report, `${node.name}-cni-conflist`).status).toBe("unchanged");
    }
    expect(hashOf(before.bridge)).not.toBe(hashOf((await binDir("node1")).bridge));
    scenarios.last().lost = "nothing; vlan kept as vlan.kubeplug.bak";
  });

  it("a conflist change (bridge mtu) rewrites only the conflist, on every node", async () => {
    const before = await binDir("node1");
    const report = await scenarios.apply("conflist change (bridge mtu 1450)", stack(CNI_VERSIONS.new, WANTED_AFTER, { mtu: 1450 }), { stateFile });
    expectAllOk(report);
    expect(report.commands.filter((c) => c.status === "ok").map((c) => c.name).sort()).toEqual(NODES.map((n) => `${n.name}-cni-conflist`));
    for (const node of NODES) {
      const plugins = command(report, `${node.name}-cni-plugins-install`);
      expect(plugins.status === "unchanged" || plugins.result?.changed.length === 0).toBe(true);
      expect(command(report, `${node.name}-cni-conflist`).result).toMatchObject({ changed: [CONFLIST], restarted: [] });
      expect(JSON.parse(await on(node.name, `cat ${CONFLIST}`)).plugins[0].mtu).toBe(1450);
    }
    expect(await binDir("node1")).toEqual(before);
    scenarios.last().lost = "nothing; 1 file per node";
  });

  it("a second apply, every step run again, writes nothing: binaries, conflist and the foreign binary keep hash and mtime", async () => {
    const snapshot = () => Promise.all(NODES.map(async (n) => ({ bin: await binDir(n.name), list: await on(n.name, `sha256sum ${CONFLIST}; stat -c '%Y' ${CONFLIST}`) })));
    const before = await snapshot();
    const report = await scenarios.apply("second apply (all steps re-run)", stack(CNI_VERSIONS.new, WANTED_AFTER, { mtu: 1450 }));
    expectAllOk(report);
    for (const c of report.commands) expect({ name: c.name, status: c.status, changed: c.result?.changed, restarted: c.result?.restarted }).toEqual({ name: c.name, status: "ok", changed: [], restarted: [] });
    expect(await snapshot()).toEqual(before);
    scenarios.last().lost = "nothing; 0 files written";
  });

  it(`the ${CNI_VERSIONS.new} plugins run the rendered conflist: ADD gives a pod address from the node's subnet with the list's MTU, DEL undoes it`, async () => {
    const node = NODES[1]!;
    const list = JSON.parse(await on(node.name, `cat ${CONFLIST}`)) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
    const netns = "kpe2e";
    const started = Date.now();
    await on(node.name, `ip netns add ${netns}`);
    const env = (cmd: string) => `CNI_COMMAND=${cmd} CNI_CONTAINERID=kpe2e0001 CNI_NETNS=/run/netns/${netns} CNI_IFNAME=eth0 CNI_PATH=${BIN}`;
    try {
      // What a runtime does with a list (libcni): each plugin in order, each given the previous result.
      let result: Record<string, unknown> | undefined;
      for (const plugin of list.plugins) {
        const config = { cniVersion: list.cniVersion, name: list.name, ...plugin, ...(result ? { prevResult: result } : {}) };
        result = JSON.parse(await on(node.name, `${env("ADD")} ${BIN}/${plugin.type}`, JSON.stringify(config)));
      }
      const ips = (result as { ips: { address: string; gateway: string }[] }).ips;
      expect(ips).toHaveLength(1);
      expect(ips[0]!.address).toMatch(/^10\.244\.2\.\d+\/24$/);
      expect(ips[0]!.gateway).toBe("10.244.2.1");
      const inPod = await on(node.name, `ip netns exec ${netns} ip -o -4 addr show dev eth0; ip netns exec ${netns} cat /sys/class/net/eth0/mtu`);
      expect(inPod).toContain(`inet ${ips[0]!.address}`);
      expect(inPod.split("\n").pop()).toBe("1450");
      expect(await on(node.name, "ip -o -4 addr show dev kp0")).toContain("inet 10.244.2.1/24");

      for (const plugin of [...list.plugins].reverse()) {
        const config = { cniVersion: list.cniVersion, name: list.name, ...plugin, prevResult: result };
        await on(node.name, `${env("DEL")} ${BIN}/${plugin.type}`, JSON.stringify(config));
      }
      expect(await on(node.name, `ip netns exec ${netns} ip -o link show dev eth0 2>/dev/null | wc -l`)).toBe("0");
      scenarios.figures.push({ scenario: "plugins run the rendered list (ADD/DEL by hand, node2)", nodes: 1, stepsRun: 0, wallMs: Date.now() - started, lost: `nothing; pod got ${ips[0]!.address}, mtu 1450` });
    } finally {
      await bed!.ssh(node.name, `ip netns del ${netns}; ip link del kp0`);
    }
  });

  it("a foreign conflist that sorts first stops cni-conflist with kubeplug's message; nothing is written on that node", async () => {
    await on("node1", `printf '{"cniVersion":"1.0.0","name":"other","plugins":[{"type":"bridge"}]}\\n' > /etc/cni/net.d/00-other.conflist`);
    const before = await on("node1", `sha256sum ${CONFLIST} /etc/cni/net.d/00-other.conflist; stat -c '%Y' ${CONFLIST}; ls -A /etc/cni/net.d`);
    const report = await scenarios.apply("fault: foreign 00-other.conflist (node1), mtu 1400", stack(CNI_VERSIONS.new, WANTED_AFTER, { mtu: 1400 }), { stateFile });
    const failed = command(report, "node1-cni-conflist");
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(
      /^node1-cni-conflist: process exited with status 1: .*kubeplug\[node1\/cni-conflist\]: error: \/etc\/cni\/net\.d\/00-other\.conflist sorts before 10-kubeplug\.conflist, so the runtime would use it instead; remove it or give kubeplug's list a lower priority; nothing was changed/,
    );
    expect(await on("node1", `sha256sum ${CONFLIST} /etc/cni/net.d/00-other.conflist; stat -c '%Y' ${CONFLIST}; ls -A /etc/cni/net.d`)).toBe(before);
    // The other node had no such file and took the change.
    expect(command(report, "node2-cni-conflist").result).toMatchObject({ changed: [CONFLIST] });
    expect(JSON.parse(await on("node2", `cat ${CONFLIST}`)).plugins[0].mtu).toBe(1400);
    scenarios.last().lost = "nothing (node1 kept its list; node2 converged)";
  });
});
