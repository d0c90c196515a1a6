import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { expect, vi } from "vitest";

// The Pulumi engine cannot run here: pulumi.runtime.setMocks stands in for it and records what the
// program registers. Parents and dependencies come from a stack transformation, which the SDK
// applies before a resource reaches the (mock) engine.

/** How a secret input reaches the engine: the SDK wraps it with this signature. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  parent?: string | undefined;
  dependsOn: string[];
  /** The resource option, as a policy sees it (policy.test.ts). */
  additionalSecretOutputs: string[];
}

export interface MockedProgram {
  readonly outputs: Record<string, unknown>;
  /** Every resource, in registration order (parents before children). */
  all(): Registered[];
  /** Every resource by type, in registration order. */
  ofType(type: string): Registered[];
  get(type: string, name: string): Registered;
}

export function unwrapSecret(value: unknown): { secret: boolean; value: unknown } {
  if (value && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG]) {
    return { secret: true, value: (value as { value: unknown }).value };
  }
  return { secret: false, value };
}

/** The SDK keeps a resource's logical name in `__name`; its URN is not resolved yet at transformation time. */
function resourceName(resource: pulumi.Resource): string {
  return (resource as unknown as { __name: string }).__name;
}

export interface RecordedResources {
  all(): Registered[];
  /** Every resource by type, in registration order. */
  ofType(type: string): Registered[];
  get(type: string, name: string): Registered;
  /** Resolves once `done` holds for what has registered (resources register after their dependencies). */
  settled(done: (recorded: RecordedResources) => void): Promise<void>;
}

/**
 * Runs `build` inside a mocked Pulumi stack and records every resource it creates: inputs from the
 * mock engine, parent and dependsOn from a stack transformation.
 */
export async function recordResources<T>(stack: string, build: () => T | Promise<T>): Promise<{ result: T; recorded: RecordedResources }> {
  const registered = new Map<string, Registered>();
  const key = (type: string, name: string) => `${type}::${name}`;
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
    stack,
  );
  const record = (args: pulumi.ResourceTransformationArgs): undefined => {
    registered.set(key(args.type, args.name), {
      type: args.type,
      name: args.name,
      inputs: {},
      parent: args.opts.parent ? resourceName(args.opts.parent) : undefined,
      dependsOn: ((args.opts.dependsOn ?? []) as pulumi.Resource[]).map(resourceName),
      additionalSecretOutputs: (args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [],
    });
    return undefined;
  };
  const result = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation(record);
    return build();
  });
  const recorded: RecordedResources = {
    all: () => [...registered.values()],
    ofType: (type) => [...registered.values()].filter((r) => r.type === type),
    get: (type, name) => registered.get(key(type, name))!,
    settled: (done) => vi.waitFor(() => done(recorded)),
  };
  return { result: result as T, recorded };
}

/**
 * Runs kubeplug's Pulumi program on a stack file under mocks. `secrets` gives the values of the
 * stack's `secure:` keys (by key without the namespace); the program sees them as secret config.
 */
export async function runMockedProgram(stackFile: string, stack: string, secrets: Record<string, string>, expectedCommands: number): Promise<MockedProgram> {
  const doc = yaml.load(readFileSync(stackFile, "utf8")) as { config: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [name, value] of Object.entries(doc.config)) {
    const secure = typeof value === "object" && value !== null && "secure" in value;
    if (secure) secretKeys.push(name);
    config[name] = secure ? secrets[name.replace(/^kubeplug:/, "")] ?? "" : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(config, secretKeys);
  const { stackProgram } = await import("../../src/stack-program");
  const { result, recorded } = await recordResources(stack, () => stackProgram());
  const outputs = await new Promise<Record<string, unknown>>((resolve) => pulumi.output(result).apply((value) => resolve(value as Record<string, unknown>)));
  // Commands register after their dependencies resolve, later than the stack outputs.
  await recorded.settled(({ ofType }) => {
    const commands = stepCommands(ofType("command:remote:Command"));
    expect(commands).toHaveLength(expectedCommands);
    for (const c of commands) expect(c.inputs.create).toBeDefined();
  });
  return { outputs, all: recorded.all, ofType: recorded.ofType, get: recorded.get };
}

/** Commands of node steps, without each node's step library install (NodeLibrary), which program.test.ts checks apart. */
export function stepCommands<R extends { readonly name: string }>(commands: readonly R[]): R[] {
  return commands.filter((c) => !c.name.endsWith("-node-library"));
}
