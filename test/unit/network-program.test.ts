import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MockedProgram, runMockedProgram } from "../support/pulumi-mocks";

// Mocks stand in for the Pulumi engine: the CNI steps a stack with kubeplug's own conflist registers.
let program: MockedProgram;

beforeAll(async () => {
  program = await runMockedProgram(join(__dirname, "..", "fixtures", "stacks", "Pulumi.network.yaml"), "network", {}, 10);
});

describe("CNI node steps under mocks (own bridge conflist, per-node pod subnets)", () => {
  it("adds a NodeNetwork per pool with plugins before conflists on every node", () => {
    expect(program.ofType("kubeplug:network:NodeNetwork").map((n) => [n.name, n.parent])).toEqual([["workers-network", "network"]]);
    for (const node of ["w1", "w2"]) {
      expect(program.get("kubeplug:node:NodeStep", `${node}-cni-plugins-install`).dependsOn).toEqual([]);
      expect(program.get("kubeplug:node:NodeStep", `${node}-cni-conflist`).dependsOn).toEqual([`${node}-cni-plugins-install`]);
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
