import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MockedProgram, runMockedProgram } from "../support/pulumi-mocks";

// Mocks stand in for the Pulumi engine and the Kubernetes API: a stack whose network is Cilium.
let program: MockedProgram;

beforeAll(async () => {
  program = await runMockedProgram(join(__dirname, "..", "fixtures", "stacks", "Pulumi.cilium.yaml"), "cilium", {}, 14);
});

describe("a CNI provider in a stack under mocks (Cilium)", () => {
  it("deploys the pinned chart with the typed values, after every node step", () => {
    const chart = program.ofType("kubernetes:helm.sh/v4:Chart").find((c) => c.inputs.chart === "cilium")!;
    expect(chart.inputs).toMatchObject({ version: "1.20.0", repositoryOpts: { repo: "https://helm.cilium.io" } });
    expect(chart.inputs.values).toMatchObject({ kubeProxyReplacement: true, k8sServiceHost: "10.0.3.100", k8sServicePort: 6443 });
    const steps = ["w1", "w2"].flatMap((n) => ["cni-conflist", "cni-plugins-install", "containerd-configure", "containerd-install", "oci-runtimes-install"].map((s) => `${n}-${s}`));
    expect(chart.dependsOn).toEqual(expect.arrayContaining(steps));
  });

  it("writes no conflist on the nodes and says why in the step", () => {
    const create = program.get("command:remote:Command", "w1-cni-conflist").inputs.create as string;
    expect(create).toContain("KP_CONFLISTS=()");
    expect(create).toContain("none: cilium writes 05-cilium.conflist");
  });

  it("leaves cilium-cni to Cilium and installs the reference plugins", () => {
    const create = program.get("command:remote:Command", "w1-cni-plugins-install").inputs.create as string;
    expect(create).not.toContain("cilium-cni");
    expect(create).toMatch(/KP_WANTED=\('bandwidth' 'bridge' 'dhcp' 'dummy'/);
  });
});
