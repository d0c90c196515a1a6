import { join } from "node:path";
import { RuntimeClass as RuntimeClassModel } from "kubernetes-models/node.k8s.io/v1/RuntimeClass";
import { beforeAll, describe, expect, it } from "vitest";
import { MockedProgram, runMockedProgram, unwrapSecret } from "../support/pulumi-mocks";

// Mocks stand in for the Pulumi engine and the Kubernetes API server (neither exists here).
const RUNTIME_CLASS = "kubernetes:node.k8s.io/v1:RuntimeClass";
let program: MockedProgram;

beforeAll(async () => {
  program = await runMockedProgram(join(__dirname, "..", "fixtures", "stacks", "Pulumi.mixed.yaml"), "mixed", { quayPassword: "quay-robot-token-91" }, 14);
});

describe("runtime components and RuntimeClasses under mocks (containerd + CRI-O pools)", () => {
  it("builds one runtime component per pool, of the pool's kind", () => {
    expect(program.ofType("kubeplug:runtime:ContainerdRuntime").map((r) => r.name)).toEqual(["general"]);
    expect(program.ofType("kubeplug:runtime:CrioRuntime").map((r) => r.name)).toEqual(["vms"]);
    expect(program.ofType("kubeplug:node:NodeStep").filter((s) => s.parent === "vms").map((s) => s.name)).toEqual([
      "v1-node-prepare",
      "v1-oci-runtimes-install",
      "v1-crio-install",
      "v1-crio-configure",
    ]);
    expect(program.outputs.runtimeEndpoints).toEqual({
      g1: "unix:///run/containerd/containerd.sock",
      g2: "unix:///run/containerd/containerd.sock",
      v1: "unix:///var/run/crio/crio.sock",
    });
  });

  it("makes a RuntimeClass per handler plus the stack's own, each valid against the Kubernetes schema", () => {
    const classes = program.ofType(RUNTIME_CLASS);
    expect(classes.map((c) => c.name).sort()).toEqual(["crun", "gvisor", "kata", "runc", "sandboxed"]);
    for (const rc of classes) {
      const model = new RuntimeClassModel({ metadata: rc.inputs.metadata as object, handler: rc.inputs.handler as string, ...(rc.inputs.scheduling ? { scheduling: rc.inputs.scheduling as object } : {}), ...(rc.inputs.overhead ? { overhead: rc.inputs.overhead as object } : {}) });
      expect(() => model.validate(), rc.name).not.toThrow();
      expect(rc.inputs.apiVersion ?? "node.k8s.io/v1").toBe("node.k8s.io/v1");
    }
  });

  it("selects only the nodes whose runtime has the handler, and adds Kata's pod overhead", () => {
    const byName = Object.fromEntries(program.ofType(RUNTIME_CLASS).map((c) => [c.name, c.inputs]));
    expect(byName.runc).toMatchObject({ handler: "runc" });
    expect(byName.runc!.scheduling).toBeUndefined();
    expect(byName.gvisor).toMatchObject({ handler: "gvisor", scheduling: { nodeSelector: { "kubeplug.dev/pool": "general" } } });
    expect(byName.sandboxed).toMatchObject({ handler: "gvisor", scheduling: { nodeSelector: { "kubeplug.dev/pool": "general" } } });
    expect(byName.crun).toMatchObject({ handler: "crun", scheduling: { nodeSelector: { "kubeplug.dev/pool": "vms", "kubeplug.dev/kvm": "true" } } });
    expect(byName.kata).toMatchObject({ handler: "kata", overhead: { podFixed: { cpu: "250m", memory: "320Mi" } } });
  });

  it("creates each RuntimeClass only after the runtime is configured on every node it selects", () => {
    const deps = (name: string) => program.get("kubeplug:runtime:RuntimeClass", name).dependsOn.sort();
    expect(deps("runc")).toEqual(["g1-containerd-configure", "g2-containerd-configure", "v1-crio-configure"]);
    expect(deps("gvisor")).toEqual(["g1-containerd-configure", "g2-containerd-configure"]);
    expect(deps("kata")).toEqual(["v1-crio-configure"]);
  });

  it("sends the CRI-O registry credentials as auth.json on stdin, secret, to the configure step only", () => {
    for (const command of program.ofType("command:remote:Command")) {
      expect(JSON.stringify(command.inputs.create)).not.toContain("quay-robot-token-91");
      if (command.name !== "v1-crio-configure") {
        expect(command.inputs.stdin).toBeUndefined();
        continue;
      }
      const stdin = unwrapSecret(command.inputs.stdin);
      expect(stdin.secret).toBe(true);
      expect(JSON.parse(stdin.value as string)).toEqual({ auths: { "quay.io": { auth: Buffer.from("robot:quay-robot-token-91").toString("base64") } } });
    }
  });
});
