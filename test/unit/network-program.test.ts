import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MockedProgram, runMockedProgram, unwrapSecret } from "../support/pulumi-mocks";

// Mocks stand in for the Pulumi engine: the CNI steps a stack with kubeplug's own conflist registers.
let program: MockedProgram;

beforeAll(async () => {
  program = await runMockedProgram(join(__dirname, "..", "fixtures", "stacks", "Pulumi.network.yaml"), "network", {}, 14);
});

describe("CNI node steps under mocks (own bridge conflist, per-node pod subnets)", () => {
  it("adds a NodeNetwork per pool with plugins before conflists on every node", () => {
    expect(program.ofType("kubeplug:network:NodeNetwork").map((n) => [n.name, n.parent])).toEqual([["workers-network", "network"]]);
    for (const node of ["w1", "w2"]) {
      expect(program.get("kubeplug:node:NodeStep", `${node}-cni-plugins-install`).dependsOn).toEqual([`${node}-node-library`]);
      expect(program.get("kubeplug:node:NodeStep", `${node}-cni-conflist`).dependsOn).toEqual([`${node}-node-library`, `${node}-cni-plugins-install`]);
    }
  });

  it("gives each node its own host-local range in the conflist it writes", () => {
    for (const [node, subnet] of [["w1", "10.244.1.0/24"], ["w2", "10.244.2.0/24"]] as const) {
      const create = program.get("command:remote:Command", `${node}-cni-conflist`).inputs.create as string;
      expect(create).toContain("/etc/cni/net.d/10-kubeplug.conflist");
      expect(create).toContain(`"subnet": "${subnet}"`);
      expect(create).toContain("KP_PLUGIN_TYPES=('bandwidth' 'bridge' 'host-local' 'portmap')");
    }
  });

  it("installs exactly the wanted plugins from the pinned, checksummed release", () => {
    const create = program.get("command:remote:Command", "w1-cni-plugins-install").inputs.create as string;
    expect(create).toContain("KP_WANTED=('bandwidth' 'bridge' 'host-local' 'loopback' 'portmap' 'tuning')");
    expect(create).toContain("KP_RELEASE_URL='https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz'");
    expect(create).toContain("KP_RELEASE_CHECKSUM='sha256:b98f74a0f8522f0a83867178729c1aa70f2158f90c45a2ca8fa791db1c76b303'");
  });
});

describe("host keys from a known_hosts file (ssh.knownHostsFile) under mocks", () => {
  // test/fixtures/keys/known_hosts lists w1 by name with ssh-rsa and ssh-ed25519, w2 hashed (ssh-keygen -H).
  const KEYS = {
    w1: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICG4zRO+4dgPg3NDrPVlT7xVYtUnHLy48T4iU4Qwh8VN",
    w2: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEllLF8Mm7v6t34bgDZLulrPqcg4q0ok5MlaFa3NHXeu",
  };

  it("pins every Command to the key the file lists for its node, ssh-ed25519 first, hashed names included", () => {
    const commands = program.ofType("command:remote:Command");
    // 7 steps and the step library's install per node.
    expect(commands).toHaveLength(16);
    for (const command of commands) {
      const node = command.name.split("-")[0] as keyof typeof KEYS;
      expect((unwrapSecret(command.inputs.connection).value as Record<string, unknown>).hostKey).toBe(KEYS[node]);
    }
  });
});
