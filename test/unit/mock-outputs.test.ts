import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ContainerdRuntime } from "../../src/components/runtime/containerd";
import { parseStepResult } from "../../src/components/node/node-step";
import { STAND_IN_HOST_KEY } from "../support/component-args";

// Users test their own programs under pulumi.runtime.setMocks, often with the smallest mock there
// is: one that echoes the inputs back as the state. A Command then has no stdout, as nothing ran.

/** The value of an Output, or its error: Output has no public way to await it. */
function settle<T>(output: pulumi.Output<T>): Promise<T> {
  return (output as unknown as { promise(): Promise<T> }).promise();
}

describe("outputs under a mock that returns only the inputs", () => {
  it("a step with no stdout has not run: its result is undefined, not an error", async () => {
    await pulumi.runtime.setMocks({ newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: () => ({}) }, "kubeplug", "inputs-only");
    let runtime!: ContainerdRuntime;
    await pulumi.runtime.runInPulumiStack(async () => {
      runtime = new ContainerdRuntime("gpu", { nodes: [{ name: "gpu1", connection: { host: "192.0.2.21", privateKey: pulumi.secret("stand-in key"), hostKey: STAND_IN_HOST_KEY } }], config: { version: "2.1.9" } });
      // The stack output holds every step's result, as a user's program exporting them would.
      return { results: Object.values(runtime.nodeSteps).flat().map((s) => s.result) };
    });
    const steps = runtime.nodeSteps.gpu1!;
    // node-prepare, oci-runtimes-install, containerd-install, containerd-configure, crictl-install.
    expect(steps).toHaveLength(5);
    const results = await Promise.all(steps.map((s) => settle(s.result)));
    expect(results).toHaveLength(steps.length);
    expect(results).toEqual(steps.map(() => undefined));
    // The plan's own outputs do not depend on anything having run.
    expect(await settle(runtime.runtimeEndpoint)).toBe("unix:///run/containerd/containerd.sock");
  });

  it("parseStepResult: undefined for a missing stdout or one without a result line; the last result line otherwise", () => {
    expect(parseStepResult(undefined)).toBeUndefined();
    expect(parseStepResult("")).toBeUndefined();
    expect(parseStepResult("installing\n")).toBeUndefined();
    const line = (changed: string[]) => `KUBEPLUG_RESULT ${JSON.stringify({ node: "n1", step: "s", changed, restarted: [] })}`;
    expect(parseStepResult(`${line(["a"])}\nnoise\n${line(["b"])}\n`)).toEqual({ node: "n1", step: "s", changed: ["b"], restarted: [] });
  });
});
