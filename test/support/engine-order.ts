/**
 * STAND-IN for the Pulumi engine's ordering (no engine can run here): builds the Cluster component
 * for a stack's values under pulumi.runtime.setMocks, where a resource registers only after its
 * dependencies did, as the engine would run them. Every Command takes a few milliseconds; the one
 * named in $KUBEPLUG_FAIL fails, so its dependents never register. Prints, as JSON, the Commands in
 * the order they started and the tick at which each finished.
 *
 * A child process, because the failed resources' outputs are rejected promises nobody awaits, which
 * a test runner reports as errors of the test file.
 */
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../src/components/cluster";
import { validateStackConfig } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";

async function main(): Promise<void> {
  const values = JSON.parse(process.env.KUBEPLUG_STACK_VALUES!) as Record<string, unknown>;
  const failing = process.env.KUBEPLUG_FAIL;
  const plan = planCluster(validateStackConfig("order", values).config);
  const started: string[] = [];
  const finished: Record<string, number> = {};
  let clock = 0;
  process.on("unhandledRejection", () => undefined);
  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        if (args.type !== "command:remote:Command") return { id: `${args.name}-id`, state: args.inputs };
        started.push(args.name);
        await new Promise((r) => setTimeout(r, 2));
        if (args.name === failing) throw new Error(`${args.name}: injected failure`);
        finished[args.name] = ++clock;
        return { id: `${args.name}-id`, state: { ...args.inputs, stdout: "" } };
      },
      call: () => ({}),
    },
    "kubeplug",
    "order",
  );
  await pulumi.runtime.runInPulumiStack(async () => {
    new Cluster("order", { plan, readPrivateKey: () => "stand-in key" });
  }).catch(() => undefined);
  // Dependents of a failed Command never register: wait until nothing has started for a while.
  for (let last = -1, quiet = 0; quiet < 30; quiet = started.length === last ? quiet + 1 : 0, last = started.length) await new Promise((r) => setTimeout(r, 10));
  process.stdout.write(JSON.stringify({ started, finished }));
  process.exit(0);
}

void main();
