import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect, it, vi } from "vitest";
import { runMockedProgram } from "../support/pulumi-mocks";

// Validation warns under the stack path; the components Cluster builds from the plan validate nothing,
// so the program prints each warning once (a component path such as `containerd.version` would be a second print).
it("the stack program prints each warning once, under the path the user wrote", async () => {
  const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue();
  await runMockedProgram(join(__dirname, "..", "golden", "cases", "containerd-v2-minimal.yaml"), "golden", {}, 5);
  expect(warn.mock.calls.map((c) => c[0])).toEqual([expect.stringMatching(/^kubeplug:cluster\.pools\[0\]\.runtime\.version: containerd 1\.6 is past its upstream end of life/)]);
});
