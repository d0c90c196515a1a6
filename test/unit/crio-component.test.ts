import { beforeAll, describe, expect, it } from "vitest";
import { CrioRuntime } from "../../src/components/runtime/crio";
import { plannedCommands, rawStack, runtimeArgs } from "../support/component-args";
import { planGoldenCase } from "../support/golden-cases";
import { recordResources, RecordedResources, stepCommands, unwrapSecret } from "../support/pulumi-mocks";

// CrioRuntime imported on its own, under mocks (the Pulumi engine cannot run here).
const COMMAND = "command:remote:Command";
let recorded: RecordedResources;

beforeAll(async () => {
  ({ recorded } = await recordResources("crio", () => new CrioRuntime("p", runtimeArgs(rawStack("test/golden/cases/crio-full.yaml")))));
  // Commands register after their dependencies resolve; their inputs arrive after that.
  await recorded.settled(({ ofType }) => {
    expect(stepCommands(ofType(COMMAND))).toHaveLength(4);
    for (const c of ofType(COMMAND)) expect(c.inputs.connection).toBeDefined();
  });
});

describe("CrioRuntime on its own", () => {
  it("runs the steps planCluster plans for the same pool (crio-full)", () => {
    const commands = Object.fromEntries(stepCommands(recorded.ofType(COMMAND)).map((c) => [c.name, c.inputs.create]));
    expect(commands).toEqual(plannedCommands(planGoldenCase("crio-full"), "runtime"));
  });

  it("sends the credentials on stdin, as a secret, to the configure step only", () => {
    const withStdin = recorded.ofType(COMMAND).filter((c) => c.inputs.stdin !== undefined);
    expect(withStdin.map((c) => c.name)).toEqual(["n1-crio-configure"]);
    const stdin = unwrapSecret(withStdin[0]!.inputs.stdin);
    expect(stdin.secret).toBe(true);
    expect(String(stdin.value)).toContain(Buffer.from(`puller:stand-in password`).toString("base64"));
  });
});
