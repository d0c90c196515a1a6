import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { NodeNetwork } from "../../src/components/network/node-network";
import { ContainerdRuntime } from "../../src/components/runtime/containerd";
import { planCluster } from "../../src/plan/cluster-plan";
import { RuntimeClass } from "../../src/components/runtime/runtime-class";
import { parseStackFile } from "../../src/config/stack";
import { ClassNode } from "../../src/config/runtime-class-selection";
import { KubeplugConfigError } from "../../src/errors";
import { planGoldenCase } from "../support/golden-cases";
import { plannedCommands, rawStack, root, runtimeArgs, STAND_IN_HOST_KEY as hostKey } from "../support/component-args";
import { recordResources, RecordedResources, stepCommands, unwrapSecret } from "../support/pulumi-mocks";

// Each component a program can import on its own, under mocks (the Pulumi engine cannot run here).
// The standalone path must give exactly the steps planCluster gives the same settings in a stack.

const COMMAND = "command:remote:Command";
const STEP = "kubeplug:node:NodeStep";

const CLASS_NODES: ClassNode[] = [
  { name: "a", pool: "sandboxed", labels: { sandbox: "yes" }, handlers: ["runc", "gvisor"] },
  { name: "b", pool: "plain", labels: {}, handlers: ["runc"] },
];

// One mocked stack holds every component of this file: the SDK's mocks are process-wide, and a
// second stack would receive the first one's late registrations.
let recorded: RecordedResources;
let warnings: string[];
const refused: Record<string, unknown> = {};

function attempt<T>(name: string, build: () => T): T | undefined {
  try {
    return build();
  } catch (error) {
    refused[name] = error;
    return undefined;
  }
}

beforeAll(async () => {
  const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue();
  const network = rawStack("test/fixtures/stacks/Pulumi.network.yaml");
  // Stand-in for a VM created in the same program: its address is known only once the VM exists.
  const vmAddress = pulumi.output(new Promise<string>((resolve) => setTimeout(() => resolve("203.0.113.7"), 10)));
  ({ recorded } = await recordResources("components", () => {
    new ContainerdRuntime("p", runtimeArgs(rawStack("test/golden/cases/containerd-v2-full.yaml")));
    new ContainerdRuntime("vm-pool", { nodes: [{ name: "vm1", connection: { host: vmAddress, privateKey: pulumi.secret("stand-in key"), hostKey: pulumi.output(hostKey) } }], config: { version: "2.1.9" } });
    new ContainerdRuntime("old", { nodes: [{ name: "old1", connection: { host: "192.0.2.9", insecureSkipHostKeyCheck: true, bastion: { host: "192.0.2.254", hostKey } } }], config: { version: "1.6.20" } });
    new NodeNetwork("net", {
      nodes: network["kubeplug:cluster"].nodes.map((n: { name: string; address: string; podCIDR: string }) => ({ name: n.name, pool: "workers", podCIDR: n.podCIDR, connection: { host: n.address, hostKey } })),
      config: network["kubeplug:network"],
    });
    new RuntimeClass("gvisor", { handler: "gvisor", nodeSelector: { sandbox: "yes" }, nodes: CLASS_NODES });
    attempt("containerd", () => new ContainerdRuntime("bad-ctr", { nodes: [{ name: "x1", connection: { host: "192.0.2.1", hostKey } }], config: { version: "9.1.0" }, downloads: { cacheDir: "var/cache" } }));
    attempt("registryOverrides", () => new ContainerdRuntime("lone", { nodes: [{ name: "l1", connection: { host: "192.0.2.3", hostKey } }], config: { version: "2.1.9", registries: { overrides: { "docker.io": { mirrors: [] } } } } }));
    attempt("hostKeys", () =>
      new ContainerdRuntime("unpinned", {
        nodes: [
          { name: "u1", connection: { host: "192.0.2.11" } },
          { name: "u2", connection: { host: "192.0.2.12", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtlc3RrZXlmb3Jtb2NrZWR0ZXN0c29ubHk", bastion: { host: "192.0.2.254" } } },
        ],
        config: { version: "2.1.9" },
      }),
    );
    attempt("network", () =>
      new NodeNetwork("bad-net", {
        nodes: [{ name: "x2", podCIDR: "10.244.1.0/24", connection: { host: "192.0.2.2", hostKey } }],
        config: { cni: { plugins: { wanted: ["bridge"] }, conflists: [{ name: "k", plugins: [{ type: "bridge", ipam: { type: "host-local" } }] }] } },
      }),
    );
    attempt("runtimeClass", () => new RuntimeClass("bad-rc", { handler: "gvisor", nodes: CLASS_NODES }));
  }));
  // Three containerd runtimes of one node and five steps each (node-prepare, oci-runtimes, install,
  // configure, crictl), and two nodes with two CNI steps each.
  // Commands register after their dependencies resolve; their inputs arrive after that.
  await recorded.settled(({ ofType }) => {
    expect(stepCommands(ofType(COMMAND))).toHaveLength(19);
    for (const c of ofType(COMMAND)) expect(c.inputs.connection).toBeDefined();
  });
  warnings = warn.mock.calls.map((c) => String(c[0]));
  warn.mockRestore();
});

/** The Commands of the steps under one component, by step name, as the engine received them. */
function commandsUnder(component: string): Record<string, string> {
  const steps = new Set(recorded.ofType(STEP).filter((s) => s.parent === component).map((s) => s.name));
  return Object.fromEntries(recorded.ofType(COMMAND).filter((c) => steps.has(c.parent!)).map((c) => [c.name, c.inputs.create as string]));
}

const registeredNames = () => recorded.all().map((r) => r.name);

describe("ContainerdRuntime on its own", () => {
  it("runs the steps planCluster plans for the same pool (containerd-v2-full)", () => {
    const planned = plannedCommands(planGoldenCase("containerd-v2-full"), "runtime");
    expect(Object.keys(planned).length).toBeGreaterThan(0);
    expect(commandsUnder("p")).toEqual(planned);
  });

  it("registers every step with a host that is an Output of the same program", () => {
    const commands = recorded.ofType(COMMAND).filter((c) => c.name.startsWith("vm1-"));
    expect(commands).toHaveLength(5);
    for (const command of commands) {
      const connection = unwrapSecret(command.inputs.connection).value as Record<string, unknown>;
      expect(connection).toMatchObject({ host: "203.0.113.7", port: 22, user: "root" });
    }
  });

  it("prints each warning once, under the component's own path", () => {
    expect(warnings.filter((w) => w.includes("end of life"))).toEqual([expect.stringMatching(/^containerd\.version: containerd 1\.6 is past its upstream end of life/)]);
  });

  it("pins each host key it is given, for the node and its bastion, an Output included", () => {
    for (const command of recorded.ofType(COMMAND).filter((c) => c.name.startsWith("vm1-") || c.name.startsWith("old1-"))) {
      const connection = unwrapSecret(command.inputs.connection).value as Record<string, unknown>;
      if (command.name.startsWith("vm1-")) expect(connection.hostKey).toBe(hostKey);
      else expect(connection).toMatchObject({ host: "192.0.2.9", proxy: { host: "192.0.2.254", hostKey } });
      if (command.name.startsWith("old1-")) expect(connection.hostKey).toBeUndefined();
    }
  });

  it("warns, once per node, for a host key it was told not to check", () => {
    expect(warnings.filter((w) => w.includes("not checked"))).toEqual([
      "nodes[0].connection.insecureSkipHostKeyCheck: the host key of old1 is not checked: whoever answers at its address gets root commands and registry credentials; for throwaway labs only",
    ]);
  });

  it("refuses a node or bastion without a host key, and a key that would not parse, before registering anything", () => {
    expect(refused.hostKeys).toBeInstanceOf(KubeplugConfigError);
    expect((refused.hostKeys as KubeplugConfigError).problems).toEqual([
      { path: "nodes[0].connection.hostKey", message: 'no host key: pin hostKey (e.g. "ssh-ed25519 AAAA...", the host\'s /etc/ssh/ssh_host_ed25519_key.pub), or, for a throwaway lab only, set insecureSkipHostKeyCheck: true' },
      { path: "nodes[1].connection.hostKey", message: '"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGtlc3RrZXlmb3Jtb2NrZWR0ZXN0c29ubHk" is not a well-formed ssh-ed25519 key: its base64 is not well-formed; copy the line from the host\'s /etc/ssh/ssh_host_ed25519_key.pub' },
      { path: "nodes[1].connection.bastion.hostKey", message: 'no host key: pin hostKey (e.g. "ssh-ed25519 AAAA...", the host\'s /etc/ssh/ssh_host_ed25519_key.pub), or, for a throwaway lab only, set insecureSkipHostKeyCheck: true' },
    ]);
    expect(registeredNames().filter((n) => n.startsWith("unpinned") || /^u[12]-/.test(n))).toEqual([]);
  });

  it("refuses bad Args with the field and the value, before registering anything", () => {
    expect(refused.containerd).toBeInstanceOf(KubeplugConfigError);
    expect((refused.containerd as Error).message).toContain('downloads.cacheDir: "var/cache"');
    expect(registeredNames().filter((n) => n.startsWith("bad-ctr") || n.startsWith("x1-"))).toEqual([]);
  });

  it("refuses registry overrides, which only replace hosts a cluster passes down", () => {
    expect((refused.registryOverrides as Error).message).toContain(
      'containerd.registries.overrides["docker.io"]: a containerd component on its own inherits no cluster registries, so there is nothing to override; put docker.io under registries.hosts',
    );
    expect(registeredNames().filter((n) => n.startsWith("lone") || n.startsWith("l1-"))).toEqual([]);
  });
});

describe("NodeNetwork on its own", () => {
  it("runs the CNI steps planCluster plans for the same nodes", () => {
    const file = join(root, "test/fixtures/stacks/Pulumi.network.yaml");
    const planned = plannedCommands(planCluster(parseStackFile("network", readFileSync(file, "utf8"), file).config), "network");
    expect(Object.keys(planned).sort()).toEqual(["w1-cni-conflist", "w1-cni-plugins-install", "w2-cni-conflist", "w2-cni-plugins-install"]);
    expect(commandsUnder("net")).toEqual(planned);
  });

  it("refuses a conflist whose plugin it would not install, naming the list", () => {
    expect((refused.network as Error).message).toMatch(/network\.cni\.conflists\[0\]: plugin "host-local" would not be in \/opt\/cni\/bin/);
    expect(registeredNames().filter((n) => n.startsWith("bad-net") || n.startsWith("x2-"))).toEqual([]);
  });
});

describe("RuntimeClass on its own", () => {
  it("registers the class with the selector it was given", () => {
    const rc = recorded.get("kubernetes:node.k8s.io/v1:RuntimeClass", "gvisor");
    expect(rc.inputs.handler).toBe("gvisor");
    expect(rc.inputs.scheduling).toEqual({ nodeSelector: { sandbox: "yes" } });
  });

  it("refuses a selector that picks a node without the handler, before registering anything", () => {
    expect((refused.runtimeClass as Error).message).toContain('runtimeClasses.bad-rc.nodeSelector: selects b (pool plain), whose runtime has no handler "gvisor"');
    expect(registeredNames().filter((n) => n.startsWith("bad-rc"))).toEqual([]);
  });
});
