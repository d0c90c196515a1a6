import { Policy, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { Registered, SECRET_SIG } from "./pulumi-mocks";

// Stand-ins for what the policy engine hands a rule, built as @pulumi/policy's own tests build
// them: a plain args object (type, props, name, urn, opts) and a reportViolation that collects.
// The engine itself (the Pulumi CLI's analyzer host) cannot run here.

export interface Violation {
  readonly policy: string;
  readonly message: string;
}

export interface ResourceInput {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
  readonly additionalSecretOutputs?: readonly string[];
  readonly parent?: PolicyResource;
}

const urnOf = (type: string, name: string) => `urn:pulumi:test::kubeplug::${type}::${name}`;
const notUsed = (what: string) => () => {
  throw new Error(`stand-in policy args: ${what} is not used by kubeplug's rules`);
};

function options(r: ResourceInput) {
  return {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [...(r.additionalSecretOutputs ?? [])],
    ...(r.parent ? { parent: r.parent.urn } : {}),
  };
}

export function resourceArgs(r: ResourceInput): ResourceValidationArgs {
  return {
    type: r.type,
    name: r.name,
    urn: urnOf(r.type, r.name),
    props: r.props,
    opts: options(r),
    stackTags: new Map(),
    isType: notUsed("isType"),
    asType: notUsed("asType"),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: notUsed("notApplicable") as () => never,
  };
}

export function policyResource(r: ResourceInput): PolicyResource {
  return {
    ...resourceArgs(r),
    ...(r.parent ? { parent: r.parent } : {}),
    dependencies: [],
    propertyDependencies: {},
  } as PolicyResource;
}

function stackArgs(resources: PolicyResource[]): StackValidationArgs {
  return { resources, stackTags: new Map(), getConfig: <T extends object>() => ({}) as T, notApplicable: notUsed("notApplicable") as () => never };
}

export async function validateResource(policy: ResourceValidationPolicy, r: ResourceInput): Promise<Violation[]> {
  const violations: Violation[] = [];
  const validations = ([] as unknown[]).concat(policy.validateResource) as ((a: ResourceValidationArgs, report: (m: string) => void) => unknown)[];
  for (const validate of validations) await validate(resourceArgs(r), (message) => violations.push({ policy: policy.name, message }));
  return violations;
}

export async function validateStack(policy: StackValidationPolicy, resources: PolicyResource[]): Promise<Violation[]> {
  const violations: Violation[] = [];
  await policy.validateStack(stackArgs(resources), (message) => violations.push({ policy: policy.name, message }));
  return violations;
}

/** What the engine would run: each resource rule on every resource, each stack rule on all of them. */
export async function runPack(policies: readonly Policy[], resources: PolicyResource[]): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const policy of policies) {
    if ("validateResource" in policy) {
      // A resource rule sees the resource's inputs and options; props stand in for inputs (see policyResourcesOf).
      for (const r of resources) violations.push(...(await validateResource(policy as ResourceValidationPolicy, { type: r.type, name: r.name, props: r.props, additionalSecretOutputs: r.opts.additionalSecretOutputs })));
    } else {
      violations.push(...(await validateStack(policy as StackValidationPolicy, resources)));
    }
  }
  return violations;
}

/** As the engine deserialises props for a policy (proxySecrets false): secrets arrive as their plain values. */
function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value === null || typeof value !== "object") return value;
  if ((value as Record<string, unknown>)[SECRET_SIG]) return unwrapSecrets((value as { value: unknown }).value);
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
}

/**
 * A mocked program's resources as a stack policy sees them. Stand-in: props are the registered
 * inputs (the mock engine echoes them as state; the Cluster component registers the facts policies
 * read as outputs too), and URNs leave out the parent type chain.
 */
export function policyResourcesOf(recorded: readonly Registered[]): PolicyResource[] {
  const byName = new Map<string, PolicyResource>();
  const out: PolicyResource[] = [];
  for (const r of recorded) {
    const parent = r.parent ? byName.get(r.parent) : undefined;
    const resource = policyResource({ type: r.type, name: r.name, props: unwrapSecrets(r.inputs) as Record<string, unknown>, additionalSecretOutputs: r.additionalSecretOutputs, ...(parent ? { parent } : {}) });
    // Components' names are unique in kubeplug's programs; a Command shares its NodeStep's name, so components win.
    if (!byName.has(r.name) || r.type.startsWith("kubeplug:")) byName.set(r.name, resource);
    out.push(resource);
  }
  return out;
}
