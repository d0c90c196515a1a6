import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { parseStackFile } from "../../src/config/stack";
import { remoteCommand } from "../../src/components/node/step";
import { planCluster } from "../../src/plan/cluster-plan";

// The Pulumi engine cannot run here: pulumi.runtime.setMocks stands in for it and records what the
// program registers. Parents and dependencies come from a stack transformation, which the SDK
// applies before a resource reaches the (mock) engine.

/** How a secret input reaches the engine: the SDK wraps it with this signature. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  parent?: string;
  dependsOn: string[];
}

const stackFile = join(__dirname, "..", "fixtures", "stacks", "Pulumi.mock3.yaml");
const registered = new Map<string, Registered>();
const key = (type: string, name: string) => `${type}::${name}`;
let outputs: Record<string, unknown>;

function unwrapSecret(value: unknown): { secret: boolean; value: unknown } {
  if (value && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG]) {
    return { secret: true, value: (value as { value: unknown }).value };
  }
  return { secret: false, value };
}

beforeAll(async () => {
  const doc = yaml.load(readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> };
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config)) {
    config[key] = key === "kubeplug:mirrorPassword" ? "s3cret-mirror-password" : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(config, ["kubeplug:mirrorPassword"]);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const entry = registered.get(key(args.type, args.name));
        if (entry) entry.inputs = args.inputs;
        return { id: `${args.name}-id`, state: { ...args.inputs, stdout: "" } };
      },
      call: () => ({}),
    },
    "kubeplug",
    "mock3",
  );
  const { stackProgram } = await import("../../src/stack-program");
  const result = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation(recordOptions);
    return stackProgram();
  });
  outputs = await new Promise((resolve) => pulumi.output(result).apply((value) => resolve(value as Record<string, unknown>)));
  // Commands register after their dependencies resolve, later than the stack outputs.
  await vi.waitFor(() => {
    const commands = ofType("command:remote:Command");
    expect(commands).toHaveLength(9);
    for (const c of commands) expect(c.inputs.create).toBeDefined();
  });
});

function recordOptions(args: pulumi.ResourceTransformationArgs): undefined {
  registered.set(key(args.type, args.name), {
    type: args.type,
    name: args.name,
    inputs: {},
    parent: args.opts.parent ? resourceName(args.opts.parent) : undefined,
    dependsOn: ((args.opts.dependsOn ?? []) as pulumi.Resource[]).map(resourceName),
  });
  return undefined;
}

/** The SDK keeps a resource's logical name in `__name`; its URN is not resolved yet at transformation time. */
function resourceName(resource: pulumi.Resource): string {
  return (resource as unknown as { __name: string }).__name;
}

const step = (name: string) => registered.get(key("kubeplug:node:NodeStep", name))!;
const ofType = (type: string) => [...registered.values()].filter((r) => r.type === type);

describe("Pulumi program under mocks (3 nodes, 2 pools)", () => {
  it("registers the component tree: Cluster > ContainerdRuntime per pool > NodeStep > Command", () => {
    expect(ofType("kubeplug:index:Cluster").map((r) => r.name)).toEqual(["mock3"]);
    expect(ofType("kubeplug:runtime:ContainerdRuntime").map((r) => [r.name, r.parent])).toEqual([
      ["stable", "mock3"],
      ["edge", "mock3"],
    ]);
    const steps = ofType("kubeplug:node:NodeStep");
    expect(steps.map((s) => s.name).sort()).toEqual(
      ["node1", "node2", "node3"].flatMap((n) => ["containerd-configure", "containerd-install", "oci-runtimes-install"].map((s) => `${n}-${s}`)).sort(),
    );
    for (const nodeStep of steps) {
      expect(nodeStep.parent).toBe(nodeStep.name.startsWith("node3") ? "edge" : "stable");
      const commands = [...registered.values()].filter((r) => r.parent === nodeStep.name && r.type !== nodeStep.type);
      expect(commands.map((c) => [c.type, c.name])).toEqual([["command:remote:Command", nodeStep.name]]);
    }
  });

  it("orders each node's steps: runtimes and containerd install before configure", () => {
    for (const node of ["node1", "node2", "node3"]) {
      expect(step(`${node}-oci-runtimes-install`)!.dependsOn).toEqual([]);
      expect(step(`${node}-containerd-install`)!.dependsOn).toEqual([]);
      expect(step(`${node}-containerd-configure`)!.dependsOn.sort()).toEqual([`${node}-containerd-install`, `${node}-oci-runtimes-install`]);
    }
  });

  it("runs exactly the scripts `npm run render` shows, triggered by their content hash", () => {
    const plan = planCluster(parseStackFile("mock3", readFileSync(stackFile, "utf8"), "Pulumi.mock3.yaml").config);
    for (const nodePlan of plan.nodes) {
      for (const spec of nodePlan.steps) {
        const command = ofType("command:remote:Command").find((c) => c.name === `${nodePlan.node.name}-${spec.id}`)!;
        expect(command.inputs.create).toBe(remoteCommand(spec.script, "root"));
        expect(command.inputs.triggers).toEqual([spec.contentHash]);
        expect(command.inputs.addPreviousOutputInEnv).toBe(false);
        expect(command.inputs.delete).toBeUndefined();
      }
    }
  });

  it("marks the connection secret and pins the host key", () => {
    for (const command of ofType("command:remote:Command")) {
      const connection = unwrapSecret(command.inputs.connection);
      expect(connection.secret).toBe(true);
      const value = connection.value as Record<string, unknown>;
      expect(value).toMatchObject({ port: 22, user: "root", hostKey: expect.stringMatching(/^ssh-ed25519 /), dialErrorLimit: 3 });
      expect(value.privateKey).toContain("stand-in private key");
    }
  });

  it("sends registry credentials only on stdin, as a secret, and only to the step that writes them", () => {
    for (const command of ofType("command:remote:Command")) {
      expect(JSON.stringify(command.inputs.create)).not.toContain("s3cret-mirror-password");
      const isCredentialStep = /^node[12]-containerd-configure$/.test(command.name);
      if (!isCredentialStep) {
        expect(command.inputs.stdin).toBeUndefined();
        continue;
      }
      const stdin = unwrapSecret(command.inputs.stdin);
      expect(stdin.secret).toBe(true);
      expect(stdin.value).toContain('[plugins."io.containerd.grpc.v1.cri".registry.configs."mirror.internal.example:5000".auth]');
      expect(stdin.value).toContain('password = "s3cret-mirror-password"');
      expect(command.inputs.logging).toBe("stdout");
    }
  });

  it("exports each node's CRI endpoint", () => {
    expect(outputs.runtimeEndpoints).toEqual({
      node1: "unix:///run/containerd/containerd.sock",
      node2: "unix:///run/containerd/containerd.sock",
      node3: "unix:///run/containerd/containerd.sock",
    });
  });
});
