import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { describe, expect, it, vi } from "vitest";
import { nodeHostKeyChecks } from "../../src/config/host-keys";
import { validateStackConfig } from "../../src/config/stack";
import { KubeplugConfigError } from "../../src/errors";
import { hostsMatch, knownHostsName, lookupHostKey, parseKnownHosts } from "../../src/util/known-hosts";
import { hostKeyDataProblem } from "../../src/util/ssh-keys";
import { runMockedProgram, unwrapSecret } from "../support/pulumi-mocks";

const root = join(__dirname, "..", "..");
/** Well-formed ssh-ed25519 keys of no host (they decode to "mock-host-key-g1", "-g2", "-v1"). */
const ED = (n: number) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${["G1vY2staG9zdC1rZXktZzEuLi4uLi4uLi4uLi4uLi4u", "G1vY2staG9zdC1rZXktZzIuLi4uLi4uLi4uLi4uLi4u", "G1vY2staG9zdC1rZXktdjEuLi4uLi4uLi4uLi4uLi4u"][n]}`;
// Keys generated with ssh-keygen for these tests (the fixture's ecdsa key and an RSA key of 2048 bits).
const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOyhkqleAaXoxbHQxPIUcW5aIFxzkSzuqxGrfQZoVTCVy5H7KuuM7Ko6mPjoyhb7ENqRCtb5CDrru19aRxgWixQ=";
const RSA = readFileSync(join(root, "test/fixtures/keys/known_hosts"), "utf8").split("\n").find((l) => l.startsWith("10.0.3.1 ssh-rsa"))!.slice("10.0.3.1 ".length);

describe("host key data (what @pulumi/command's ParseAuthorizedKey would refuse at dial time)", () => {
  it.each([ED(0), ECDSA, RSA])("accepts %s", (key) => {
    const [type, data] = key.split(" ");
    expect(hostKeyDataProblem(type as "ssh-ed25519", data!)).toBeUndefined();
  });

  it.each([
    ["ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIGtlc3RrZXlmb3Jtb2NrZWR0ZXN0c29ubHk=", "its data is cut short"],
    ["ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIGtlc3RrZXlmb3Jtb2NrZWR0ZXN0c29ubHk", "its base64 is not well-formed"],
    ["ssh-rsa", ED(0).split(" ")[1]!, 'its data is a "ssh-ed25519" key'],
    ["ssh-ed25519", Buffer.concat([Buffer.from(ED(0).split(" ")[1]!, "base64"), Buffer.from([0])]).toString("base64"), "its data has 1 extra bytes"],
    ["ecdsa-sha2-nistp384", ECDSA.split(" ")[1]!, 'its data is a "ecdsa-sha2-nistp256" key'],
  ] as const)("refuses %s %s: %s", (type, data, problem) => {
    expect(hostKeyDataProblem(type, data)).toBe(problem);
  });
});

describe("known_hosts files", () => {
  it("matches names as ssh does: patterns, negation, ports in brackets, hashed names", () => {
    expect(knownHostsName("Node1.Example", 22)).toBe("node1.example");
    expect(knownHostsName("10.0.0.1", 2222)).toBe("[10.0.0.1]:2222");
    expect(hostsMatch("a.example,10.0.0.*", "10.0.0.7")).toBe(true);
    expect(hostsMatch("10.0.0.?", "10.0.0.12")).toBe(false);
    expect(hostsMatch("10.0.0.*,!10.0.0.13", "10.0.0.13")).toBe(false);
    expect(hostsMatch("10.0.0.1", "[10.0.0.1]:2222")).toBe(false);
    expect(hostsMatch("[10.0.0.1]:2222", "[10.0.0.1]:2222")).toBe(true);
    // Hashed by ssh-keygen -H (test/fixtures/keys/known_hosts, the entry of 10.0.3.2).
    expect(hostsMatch("|1|cz/rrm1ksJbqtmWObg3mz4JO8RY=|Tnxvgb9mPiSgraPiOdk6ut7d3cA=", "10.0.3.2")).toBe(true);
    expect(hostsMatch("|1|cz/rrm1ksJbqtmWObg3mz4JO8RY=|Tnxvgb9mPiSgraPiOdk6ut7d3cA=", "10.0.3.1")).toBe(false);
  });

  it("picks the ssh-ed25519 key of several, skips revoked keys and certificate authorities", () => {
    const entries = parseKnownHosts(
      [
        "# comment",
        "",
        `h1 ${RSA}`,
        `h1 ${ECDSA}`,
        `h1 ${ED(0)} a comment`,
        `h2 ${ED(1)}`,
        `@revoked h2 ${ED(1)}`,
        `h2 ${ECDSA}`,
        `@cert-authority *.example ${ED(2)}`,
        "h4 ssh-dss AAAAB3NzaC1kc3MAAACBAP",
        "broken-line-without-key",
      ].join("\n"),
    );
    expect(lookupHostKey(entries, "h1")).toEqual({ found: true, hostKey: ED(0), line: 5 });
    expect(lookupHostKey(entries, "h2")).toEqual({ found: true, hostKey: ECDSA, line: 8 });
    expect(lookupHostKey(entries, "h3")).toEqual({ found: false, reason: "has no entry" });
    expect(lookupHostKey(entries, "ca.example")).toEqual({ found: false, reason: "has only a @cert-authority entry (line 9), and a pinned host key cannot be a certificate authority" });
    expect(lookupHostKey(entries, "h4")).toEqual({
      found: false,
      reason: "has no key kubeplug can pin (line 10: expected one of ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa)",
    });
  });
});

/** The host key checks of a three-node stack whose ssh settings `edit` changes. */
function checks(clusterSsh: Record<string, unknown>, nodeSsh: (Record<string, unknown> | undefined)[] = []) {
  const nodes = [0, 1, 2].map((i) => ({ name: `n${i}`, pool: "p", address: `192.0.2.${i + 1}`, ...(nodeSsh[i] ? { ssh: nodeSsh[i] } : {}) }));
  const values = { "kubeplug:cluster": { name: "t", ssh: { privateKeyPath: "k", ...clusterSsh }, pools: [{ name: "p", runtime: { kind: "containerd", version: "2.1.9" } }], nodes } };
  try {
    const { config, warnings } = validateStackConfig("t", values);
    return { checks: nodes.map((_, i) => nodeHostKeyChecks(config.cluster, i)), warnings: warnings.map((w) => `${w.path}: ${w.message}`) };
  } catch (error) {
    if (error instanceof KubeplugConfigError) return { problems: error.problems.map((p) => `${p.path}: ${p.message}`) };
    throw error;
  }
}

describe("which host key check applies: the most specific setting", () => {
  it("a node's own opt-out beats the cluster's known_hosts file, and warns for that node only", () => {
    const result = checks({ knownHostsFile: "~/.ssh/known_hosts" }, [undefined, { insecureSkipHostKeyCheck: true }]);
    expect(result.checks!.map((c) => c.node.kind)).toEqual(["known-hosts", "unchecked", "known-hosts"]);
    expect(result.warnings).toEqual([
      "kubeplug:cluster.nodes[1].ssh.insecureSkipHostKeyCheck: host keys are not checked for n1 (192.0.2.2): whoever answers at these addresses gets root commands and registry credentials; for throwaway labs only",
    ]);
  });

  it("a node's own file or key beats the cluster's opt-out", () => {
    const result = checks({ insecureSkipHostKeyCheck: true }, [{ knownHostsFile: "kh" }, { hostKey: ED(1) }]);
    expect(result.checks!.map((c) => c.node.kind)).toEqual(["known-hosts", "pinned", "unchecked"]);
    expect(result.warnings).toEqual([
      "kubeplug:cluster.ssh.insecureSkipHostKeyCheck: host keys are not checked for n2 (192.0.2.3): whoever answers at these addresses gets root commands and registry credentials; for throwaway labs only",
    ]);
  });

  it("a bastion pins its own key, or follows the node's file or opt-out, never the node's own hostKey", () => {
    const bastion = { address: "192.0.2.100", privateKeyPath: "k" };
    const result = checks({ bastion, knownHostsFile: "kh" }, [{ hostKey: ED(0) }, { bastion: { ...bastion, hostKey: ED(2) } }, { insecureSkipHostKeyCheck: true }]);
    expect(result.checks!.map((c) => [c.node.kind, c.bastion?.check.kind])).toEqual([
      ["pinned", "known-hosts"],
      ["known-hosts", "pinned"],
      ["unchecked", "unchecked"],
    ]);
    expect(result.warnings).toEqual([
      "kubeplug:cluster.nodes[2].ssh.insecureSkipHostKeyCheck: host keys are not checked for n2 (192.0.2.3), the bastion 192.0.2.100: whoever answers at these addresses gets root commands and registry credentials; for throwaway labs only",
    ]);
  });

  it("a node that names two ways is refused where it does", () => {
    expect(checks({ knownHostsFile: "kh" }, [{ hostKey: ED(0), insecureSkipHostKeyCheck: true }]).problems).toEqual([
      "kubeplug:cluster.nodes[0].ssh: hostKey and insecureSkipHostKeyCheck: true are both set; set one: each is a way to check host keys",
    ]);
  });
});

describe("the opt-out is a warning on every pulumi up", () => {
  it("the program warns for the dev stack's unchecked nodes, under the field that opts out", async () => {
    const doc = yaml.load(readFileSync(join(root, "stacks", "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, any> };
    doc.config["kubeplug:cluster"].ssh.privateKeyPath = "test/fixtures/keys/mock_ed25519";
    const dir = mkdtempSync(join(tmpdir(), "kubeplug-dev-"));
    const file = join(dir, "Pulumi.dev.yaml");
    writeFileSync(file, yaml.dump(doc));
    const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue();
    // 3 nodes: 5 runtime steps each (node-prepare, oci-runtimes, containerd install and configure, crictl), storage-prepare when the stack
    // deploys storage, and the dev stack's CNI steps (2 each) when it manages the network.
    const commands = 3 * (5 + (doc.config["kubeplug:storage"] ? 1 : 0) + (doc.config["kubeplug:network"] ? 2 : 0));
    const program = await runMockedProgram(file, "dev", {}, commands);
    rmSync(dir, { recursive: true, force: true });
    const messages = warn.mock.calls.map((c) => String(c[0]));
    warn.mockRestore();
    expect(messages.filter((m) => m.includes("host keys"))).toEqual([
      "kubeplug:cluster.ssh.insecureSkipHostKeyCheck: host keys are not checked for node1 (10.231.0.11), node2 (10.231.0.12), node3 (10.231.0.13): whoever answers at these addresses gets root commands and registry credentials; for throwaway labs only",
    ]);
    for (const command of program.ofType("command:remote:Command")) expect((unwrapSecret(command.inputs.connection).value as Record<string, unknown>).hostKey).toBeUndefined();
  });
});
