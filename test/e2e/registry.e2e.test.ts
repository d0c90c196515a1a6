import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CriClient } from "../support/cri/client";
import { imageArchives, IMAGE_TOOLS } from "../support/oci-image";
import { waitGone } from "../support/procs";
import { makeTestPki, pushImage, REGISTRY_TOOLS, startRegistry, TestPki, TestRegistry, writeHtpasswd } from "../support/registry";
import { missingTools } from "../support/tools";
import { failures, finishBed, onNode as runOnNode, Scenarios, Stack, waitForFreeBridge } from "./harness/scenarios";
import { startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";

// A pull on each of two booted test nodes (containerd 1.6.20 and 2.1.9 from the bed's apt repository) through the hosts.toml and the
// credentials kubeplug installs there: a TLS + htpasswd docker-registry listens on the host's address on the bed's
// link, and the node's own containerd pulls with the CRI PullImage, reached over SSH (its socket forwarded to a
// local one). Pulls need only containerd's content store and snapshotter, not a running container.
const skip = testbedUnavailableReason() ?? missingTools([...REGISTRY_TOOLS, ...IMAGE_TOOLS]);
// node1 in the dev stack's stable pool (1.6.20), node2 moved to its edge pool (2.1.9).
const NODES = testbedNodes(2);
const VERSIONS: Record<string, string> = { node1: "1.6.20", node2: "2.1.9" };
const PASSWORD = "e2e-registry-Pa55-41c7";
const USER = "puller";
const PORT = 5443;
const ROOT = join(__dirname, "..", "..");
const IMAGE = "e2e.test/kubeplug/node:1";

describe.skipIf(skip)(`a pull on a test node through the hosts.toml kubeplug installs${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;
  let pki: TestPki;
  let registry: TestRegistry | undefined;
  const pulls: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-reg-"));
    scenarios = new Scenarios(work, { mirrorPassword: PASSWORD });
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
    pki = makeTestPki(join(work, "pki"), [bed.hostAddress]);
    writeHtpasswd(join(work, "htpasswd"), USER, PASSWORD);
    registry = await startRegistry({
      name: "bed", netns: "/proc/self/ns/net", address: bed.hostAddress, port: PORT, storage: join(work, "storage"), workDir: join(work, "registry"),
      tls: { cert: pki.serverCert, key: pki.serverKey }, htpasswd: join(work, "htpasswd"),
    });
    pushImage("/proc/self/ns/net", `oci-archive:${imageArchives().busybox}`, registry, "kubeplug/node:1", { username: USER, password: PASSWORD, certDir: pki.certDir });
  });

  afterAll(async () => {
    if (pulls.length > 0) console.log(`registry e2e pulls: ${pulls.join("; ")}`);
    await registry?.stop();
    await finishBed(bed, work, scenarios, "registry e2e figures");
  });

  function stack(): Stack {
    const s = yaml.load(readFileSync(join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8")) as Stack;
    delete s.config["kubeplug:network"];
    delete s.config["kubeplug:storage"];
    const cluster = s.config["kubeplug:cluster"];
    cluster.ssh.privateKeyPath = bed!.keyPath;
    cluster.nodes = cluster.nodes.filter((n: { name: string }) => n.name in VERSIONS);
    cluster.nodes.find((n: { name: string }) => n.name === "node2").pool = "edge";
    s.config["kubeplug:mirrorPassword"] = { secure: "v1:e2e" };
    for (const pool of cluster.pools) {
      pool.runtime.registries.hosts["e2e.test"] = {
        mirrors: [{ url: registry!.url, ca: [{ pem: pki.caPem }], auth: { username: USER, password: { from: "config", key: "mirrorPassword" } } }],
      };
    }
    return s;
  }

  /** A local unix socket forwarded to the node's containerd socket over SSH; ended by PID. */
  async function forwardCri(node: string, address: string): Promise<{ socket: string; stop: () => Promise<void> }> {
    const socket = join(work, `${node}-cri.sock`);
    const child = spawn("ssh", [
      "-i", bed!.keyPath, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
      "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-N", "-L", `${socket}:/run/containerd/containerd.sock`, `root@${address}`,
    ], { stdio: "ignore" });
    const pid = child.pid!;
    let exited = false;
    child.once("exit", () => { exited = true; });
    const stop = async () => {
      if (!exited) child.kill("SIGTERM");
      await waitGone([pid], 5000);
    };
    const until = Date.now() + 15_000;
    while (!existsSync(socket)) {
      if (exited || Date.now() > until) {
        await stop();
        throw new Error(`ssh -L to ${node} did not come up`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return { socket, stop };
  }

  it("installs both pools with a TLS + auth mirror", async () => {
    const report = await scenarios.apply("install with a TLS + auth mirror", stack());
    expect(failures(report)).toBe("");
    scenarios.last().lost = "nothing";
  });

  it.each(NODES.map((n) => [n.name, n] as const))("%s pulls with the CA and credentials kubeplug installed, from the registry on the bed's link", async (_name, node) => {
    const version = VERSIONS[node.name]!;
    const hostsToml = await runOnNode(bed!, node.name, "cat /etc/containerd/certs.d/e2e.test/hosts.toml");
    expect(hostsToml).toContain(`[host."${registry!.url}"]`);
    expect(await runOnNode(bed!, node.name, "stat -c %a /etc/containerd/config.toml")).toBe("600");

    const mark = registry!.mark();
    const forward = await forwardCri(node.name, node.address);
    const cri = new CriClient(forward.socket);
    const started = Date.now();
    try {
      expect((await cri.version()).runtimeVersion.startsWith(version)).toBe(true); // Debian builds say 1.6.20~ds1, 2.1.9+unknown
      const imageRef = await cri.pullImage(IMAGE);
      expect(imageRef).toMatch(/^sha256:/);
      expect((await cri.listImages()).flatMap((i) => i.repoTags)).toContain(IMAGE);
    } finally {
      cri.close();
      await forward.stop();
    }
    const ms = Date.now() - started;
    const seen = registry!.requests(mark).filter((r) => r.uri.startsWith("/v2/kubeplug/node/"));
    expect(seen[0]!.status).toBe(401);
    expect(seen.filter((r) => r.method === "GET" && r.status === 200 && r.uri.includes("/manifests/")).length).toBeGreaterThanOrEqual(1);
    for (const r of seen) {
      expect(r.remote).toBe(node.address);
      expect(r.userAgent).toMatch(new RegExp(`^containerd/v?${version.replace(/\./g, "\\.")}`));
    }
    pulls.push(`${node.name} (containerd ${version}): ${ms} ms`);
    // The node's own containerd says what the plan warns about the credential table (none of it on 1.6).
    const journal = await runOnNode(bed!, node.name, "journalctl -u containerd --no-pager -o cat");
    expect(journal.includes("`configs` is deprecated, please use `config_path` instead")).toBe(version !== "1.6.20");
    expect(journal.includes("Falling back to local image pull mode")).toBe(version === "2.1.9");
  });
});
