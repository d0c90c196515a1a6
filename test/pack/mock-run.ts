// Runs one compiled example under pulumi.runtime.setMocks, inside the temp project that installed the
// packed kubeplug (so the example, kubeplug and this file share that project's @pulumi/pulumi), and
// writes what the program registered to a JSON file. The mock returns only the inputs, the smallest
// mock a user writes: nothing runs, so no Command has a stdout.
//
//   node mock-run.js <settings.json> <compiled index.js> <out.json>
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** The example's project name (Pulumi.yaml) and its `mocks` stack config (Pulumi.mocks.yaml) as Pulumi passes it: every value a string. */
export interface MockSettings {
  readonly project: string;
  readonly config: Record<string, string>;
}

export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

export interface MockRun {
  readonly registered: Registered[];
  readonly outputs: unknown;
}

async function main([settingsFile, program, out]: string[]): Promise<void> {
  const { project, config } = JSON.parse(readFileSync(settingsFile!, "utf8")) as MockSettings;
  pulumi.runtime.setAllConfig(config);
  const registered: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    project,
    "mocks",
  );
  // The program's exports are its stack outputs, as under `pulumi up`.
  const outputs = await pulumi.runtime.runInPulumiStack(async () => require(resolve(program!)));
  // Resources register once the Outputs they take resolve, after the stack outputs: the file is
  // written when nothing is left to run.
  process.once("beforeExit", () => writeFileSync(out!, JSON.stringify({ registered, outputs } satisfies MockRun)));
}

process.on("unhandledRejection", (error) => {
  console.error(error);
  process.exit(1);
});
main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
