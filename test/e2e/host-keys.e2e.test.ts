import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knownHostsName, lookupHostKey, parseKnownHosts } from "../../src/util/known-hosts";
import { failures, finishBed, onNode, Scenarios, Stack, waitForFreeBridge } from "./harness/scenarios";
import { startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";

// Host keys against a real sshd (one booted Debian node): a known_hosts file from ssh-keyscan pins
// the key the node really has, and a pinned key that is not the node's stops every step before
// anything runs. The harness checks a pinned key as @pulumi/command does (harness/ssh-exec.ts).
const skip = testbedUnavailableReason();
const NODE = testbedNodes(1)[0]!;
const ROOT = join(__dirname, "..", "..");
/** Well-formed, but no host's key (it decodes to "example-host-key-gen-1"). */
const NOT_THE_NODES_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUtaG9zdC1rZXktZ2VuLTEuLi4uLi4uLi4u";

describe.skipIf(skip)(`host keys on a real test node${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-hostkeys-"));
    scenarios = new Scenarios(work);
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: [NODE] });
  });

  afterAll(() => finishBed(bed, work, scenarios, "host key e2e figures"));

  /** The dev stack's first node and its pool's runtime (not the network or storage: host keys are what is tested), with the given ssh settings instead of the opt-out. */
  function stack(ssh: Record<string, unknown>): Stack {
    const dev = yaml.load(readFileSync(join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8")) as Stack;
    delete dev.config["kubeplug:network"];
    delete dev.config["kubeplug:storage"];
    const cluster = dev.config["kubeplug:cluster"];
    cluster.ssh = { user: "root", privateKeyPath: bed!.keyPath, ...ssh };
    const node = cluster.nodes.find((n: { address: string }) => n.address === NODE.address);
    cluster.pools = cluster.pools.filter((p: { name: string }) => p.name === node.pool);
    cluster.nodes = [{ name: NODE.name, pool: node.pool, address: NODE.address }];
    return dev;
  }

  it("a pinned key that is not the node's stops every step at the dial: nothing runs on the node", async () => {
    const report = await scenarios.apply("host key: pinned key is not the node's", stack({ hostKey: NOT_THE_NODES_KEY }));
    scenarios.last().lost = "nothing (every step refused at the dial)";
    expect(report.ok).toBe(false);
    const all = [...report.commands, ...report.libraries];
    expect(all.filter((c) => c.status === "ok")).toEqual([]);
    // The library upload dials first and is refused; every step depends on the library and never starts.
    const failed = all.filter((c) => c.status === "failed");
    expect(failed.map((c) => c.name)).toEqual([`${NODE.name}-node-library-upload`]);
    expect(report.commands.every((c) => c.status === "skipped")).toBe(true);
    for (const c of failed) expect(c.error).toMatch(/could not dial 10\.231\.0\.11:22 after 3 attempt\(s\): .*(verification failed|Host denied)/i);
    expect(await onNode(bed!, NODE.name, "test -e /var/lib/kubeplug && echo present || echo absent")).toBe("absent");
  });

  it("a known_hosts file from ssh-keyscan pins the node's real key, and the steps run", async () => {
    const scanned = execFileSync("ssh-keyscan", ["-t", "ed25519,rsa", NODE.address], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const knownHosts = join(work, "known_hosts");
    writeFileSync(knownHosts, scanned);
    // What the scan saw is the key the node's sshd holds (its rootfs), and the one kubeplug picks.
    const onDisk = readFileSync(join(bed!.nodes[0]!.rootDir, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    expect(lookupHostKey(parseKnownHosts(scanned), knownHostsName(NODE.address, 22))).toMatchObject({ found: true, hostKey: onDisk });

    const report = await scenarios.apply("host key: known_hosts from ssh-keyscan", stack({ knownHostsFile: knownHosts }));
    scenarios.last().lost = "nothing";
    expect(report.ok, failures(report)).toBe(true);
    expect(report.commands.map((c) => c.status)).toEqual(["ok", "ok", "ok", "ok", "ok"]);
  });
});
