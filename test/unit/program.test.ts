import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackFile } from "../../src/config/stack";
import { libraryInstallCommand, libraryUploadPath, stepLibrary } from "../../src/components/node/library";
import { remoteCommand } from "../../src/components/node/step";
import { planCluster } from "../../src/plan/cluster-plan";
import { MockedProgram, runMockedProgram, unwrapSecret } from "../support/pulumi-mocks";

const stackFile = join(__dirname, "..", "fixtures", "stacks", "Pulumi.mock3.yaml");
let program: MockedProgram;

beforeAll(async () => {
  program = await runMockedProgram(stackFile, "mock3", { mirrorPassword: "s3cret-mirror-password" }, 15);
});

const step = (name: string) => program.get("kubeplug:node:NodeStep", name);
const ofType = (type: string) => program.ofType(type);

describe("Pulumi program under mocks (3 nodes, 2 pools)", () => {
  it("registers the component tree: Cluster > ContainerdRuntime per pool > NodeStep > Command", () => {
    expect(ofType("kubeplug:index:Cluster").map((r) => r.name)).toEqual(["mock3"]);
    expect(ofType("kubeplug:runtime:ContainerdRuntime").map((r) => [r.name, r.parent])).toEqual([
      ["stable", "mock3"],
      ["edge", "mock3"],
    ]);
    const steps = ofType("kubeplug:node:NodeStep");
    expect(steps.map((s) => s.name).sort()).toEqual(
      ["node1", "node2", "node3"].flatMap((n) => ["containerd-configure", "containerd-install", "crictl-install", "node-prepare", "oci-runtimes-install"].map((s) => `${n}-${s}`)).sort(),
    );
    for (const nodeStep of steps) {
      expect(nodeStep.parent).toBe(nodeStep.name.startsWith("node3") ? "edge" : "stable");
      const commands = ofType("command:remote:Command").filter((r) => r.parent === nodeStep.name);
      expect(commands.map((c) => [c.type, c.name])).toEqual([["command:remote:Command", nodeStep.name]]);
    }
  });

  it("orders each node's steps: node-prepare first, runtimes and containerd install before configure", () => {
    for (const node of ["node1", "node2", "node3"]) {
      const library = `${node}-node-library`;
      expect(step(`${node}-node-prepare`)!.dependsOn).toEqual([library]);
      expect(step(`${node}-oci-runtimes-install`)!.dependsOn).toEqual([library, `${node}-node-prepare`]);
      expect(step(`${node}-containerd-install`)!.dependsOn).toEqual([library, `${node}-node-prepare`]);
      expect(step(`${node}-crictl-install`)!.dependsOn).toEqual([library, `${node}-node-prepare`]);
      expect(step(`${node}-containerd-configure`)!.dependsOn.sort()).toEqual([`${node}-containerd-install`, library, `${node}-oci-runtimes-install`]);
    }
  });

  it("installs the step library once per node, uploaded as a file asset (its hash, not its text, in state), before every step of the node", async () => {
    const library = stepLibrary();
    expect(ofType("kubeplug:node:NodeLibrary").map((l) => [l.name, l.parent])).toEqual(["node1", "node2", "node3"].map((n) => [`${n}-node-library`, "mock3"]));
    for (const node of ["node1", "node2", "node3"]) {
      const upload = program.get("command:remote:CopyToRemote", `${node}-node-library-upload`);
      expect(upload.inputs.remotePath).toBe(libraryUploadPath());
      expect(upload.inputs.triggers).toEqual([library.installerHash]);
      const path = await (upload.inputs.source as { path: Promise<string> }).path;
      expect(path).toBe(`.kubeplug/library-${library.installerHash}.sh`);
      expect(readFileSync(path, "utf8")).toBe(library.installer);
      const install = program.get("command:remote:Command", `${node}-node-library`);
      expect(install.dependsOn).toEqual([`${node}-node-library-upload`]);
      expect(install.inputs.create).toBe(libraryInstallCommand(libraryUploadPath(), "root", node));
      expect(install.inputs.triggers).toEqual([library.hash]);
      for (const nodeStep of ofType("kubeplug:node:NodeStep").filter((s) => s.name.startsWith(`${node}-`))) expect(nodeStep.dependsOn).toContain(`${node}-node-library`);
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
    expect(program.outputs.runtimeEndpoints).toEqual({
      node1: "unix:///run/containerd/containerd.sock",
      node2: "unix:///run/containerd/containerd.sock",
      node3: "unix:///run/containerd/containerd.sock",
    });
  });
});
