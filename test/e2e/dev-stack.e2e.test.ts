import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conflistPath } from "../../src/components/network/cni-conflist";
import { wantedPlugins } from "../../src/config/network-checks";
import { loadStack } from "../../src/plan/stack-files";
import { command, failures, finishBed, onNode, Scenarios, Stack, waitForFreeBridge } from "./harness/scenarios";
import { startTestbed, Testbed, testbedUnavailableReason } from "./testbed";

// stacks/Pulumi.dev.yaml as written, the stack README's main command renders: containerd and the CNI
// network (Debian's containernetworking-plugins copied from /usr/lib/cni, a bridge/host-local/portmap
// list with each node's podCIDR) on the three booted Debian nodes it names, applied by the harness
// that runs the Pulumi program's own Command inputs over SSH. Then every step runs again and must
// change nothing.
const skip = testbedUnavailableReason();
const ROOT = join(__dirname, "..", "..");

// What the dev stack asks for, as kubeplug reads it: nodes, the plugins it owns and the list each node gets.
const DEV = loadStack(ROOT, "dev").config;
const NODES = DEV.cluster.nodes;
const INSTALL = DEV.network.cni.plugins.install;
const WANTED = [...wantedPlugins(DEV.network)].sort();
const BIN = DEV.network.cni.binDir;
const CONF_DIR = DEV.network.cni.confDir;
const CONFLIST = conflistPath(CONF_DIR, DEV.network.cni.conflists[0]!);

describe.skipIf(skip)(`the dev stack, runtime and network, on its test nodes${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-dev-"));
    scenarios = new Scenarios(work);
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES.map(({ name, address }) => ({ name, address })) });
  });

  afterAll(() => finishBed(bed, work, scenarios, "dev stack e2e figures"));

  const on = (node: string, script: string) => onNode(bed!, node, script);

  /** The dev stack with this bed's key: nothing else differs from the file. */
  function stack(): Stack {
    const dev = yaml.load(readFileSync(join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8")) as Stack;
    dev.config["kubeplug:cluster"].ssh.privateKeyPath = bed!.keyPath;
    return dev;
  }

  /** What must not move when nothing changes: every managed file's hash, mtime and mode, and containerd's PID. */
  const snapshot = (node: string) =>
    on(
      node,
      `find /etc/containerd ${CONF_DIR} ${BIN} -type f ! -name '*.kubeplug.bak' -printf '%p %T@ %m\\n' | sort
       find /etc/containerd ${CONF_DIR} ${BIN} -type f ! -name '*.kubeplug.bak' | sort | xargs sha256sum
       systemctl show -p MainPID --value containerd`,
    );

  it("applies every step on every node, then a second apply, every step run again, changes no file and restarts nothing", async () => {
    if (INSTALL.from !== "package") throw new Error(`the dev stack installs CNI plugins from ${INSTALL.from}; this test compares them with the package's`);
    const { libDir } = INSTALL;
    const report = await scenarios.apply("dev stack: fresh apply", stack());
    expect(report.ok, failures(report)).toBe(true);
    const steps = ["node-prepare", "storage-prepare", "oci-runtimes-install", "containerd-install", "crictl-install", "containerd-configure", "cni-plugins-install", "cni-conflist"];
    expect(report.commands.map((c) => [c.name, c.status]).sort()).toEqual(NODES.flatMap((n) => steps.map((s) => [`${n.name}-${s}`, "ok"])).sort());
    for (const node of NODES) {
      // csi-driver-nfs mounts with the kernel's NFS client, which this machine's kernel lacks: said, not failed.
      expect(command(report, `${node.name}-storage-prepare`).result?.skipped).toEqual(
        expect.arrayContaining([expect.stringMatching(/^kernel module nfs \(for nfs\) not available: .*volumes of nfs cannot be mounted on this node$/)]),
      );
      expect(command(report, `${node.name}-cni-plugins-install`).result?.changed).toEqual(expect.arrayContaining(WANTED.map((p) => `${BIN}/${p}`)));
      expect(command(report, `${node.name}-cni-conflist`).result).toMatchObject({ changed: [CONFLIST], restarted: [] });
      // Exactly the wanted plugins, byte for byte the package's, and the node's own list with its podCIDR.
      expect(await on(node.name, `ls ${BIN}`)).toBe(WANTED.join("\n"));
      expect(await on(node.name, `cd ${BIN} && for p in *; do cmp "$p" ${libDir}/"$p" && stat -c '%n %a' "$p"; done`)).toBe(WANTED.map((p) => `${p} 755`).join("\n"));
      const list = JSON.parse(await on(node.name, `cat ${CONFLIST}`));
      expect(list).toMatchObject({ cniVersion: "1.0.0", plugins: [{ type: "bridge", ipam: { type: "host-local", ranges: [[{ subnet: node.podCIDR }]] } }, { type: "portmap" }] });
      expect(await on(node.name, `stat -c '%a' ${CONFLIST}; ls -A ${CONF_DIR}; systemctl is-active containerd`)).toBe(`644\n${CONFLIST.split("/").pop()}\nactive`);
    }
    scenarios.last().lost = "nothing";

    const before = await Promise.all(NODES.map((n) => snapshot(n.name)));
    const again = await scenarios.apply("dev stack: second apply (all steps re-run)", stack());
    expect(again.ok, failures(again)).toBe(true);
    for (const c of again.commands) expect({ name: c.name, status: c.status, changed: c.result?.changed, restarted: c.result?.restarted }).toEqual({ name: c.name, status: "ok", changed: [], restarted: [] });
    expect(await Promise.all(NODES.map((n) => snapshot(n.name)))).toEqual(before);
    scenarios.last().lost = "nothing; 0 files written, 0 restarts";
  });
});
