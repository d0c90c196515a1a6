import { Arch } from "../catalog/artifacts";
import { DownloadsConfig } from "../config/cluster";
import { Locator } from "../config/findings";
import { RuntimeConfig } from "../config/cluster";
import { SecretRef } from "../config/secrets";
import { overrideConflicts, RenderedContainerd, renderContainerd, renderCredentialFragment } from "../components/runtime/containerd-render";
import { containerdSteps } from "../components/runtime/containerd-steps";
import { RenderedCrio, renderCrio, renderCrioAuthJson } from "../components/runtime/crio-render";
import { crioSteps } from "../components/runtime/crio-steps";
import { StepDefinition, StepNode } from "../components/node/step";
import { NODE_PREPARE_STEP, nodePrepareStep } from "../components/node/prepare-steps";
import { NodePrepareSettings } from "../config/node-prepare";

/** What a pool's runtime takes from the rest of the stack. */
export interface RuntimeContext {
  readonly pool: string;
  readonly cgroupDriver: "systemd" | "cgroupfs";
  readonly cni: { readonly binDir: string; readonly confDir: string };
  readonly downloads: DownloadsConfig;
  /** The node prerequisites of the pool's nodes: node-prepare runs before every install step. */
  readonly prepare: NodePrepareSettings;
}

/**
 * The secret payload a pool's configure step reads on stdin: which secrets it needs and how their
 * values become the payload. The values themselves only exist when a Pulumi program resolves them.
 */
export interface SecretStdin {
  readonly refs: readonly SecretRef[];
  readonly render: (values: readonly string[]) => string;
}

/** What one pool's runtime renders to; shared by every node of the pool. */
export interface PoolRuntimePlan {
  readonly name: string;
  readonly kind: RuntimeConfig["kind"];
  readonly description: string;
  readonly runtimeEndpoint: string;
  readonly configHash: string;
  /** Handler names the pool's runtime knows: what a RuntimeClass may point at. */
  readonly handlers: readonly string[];
  readonly stdin?: SecretStdin;
  /** The runtime steps of one node of the pool, in dependency order, node-prepare first. */
  readonly steps: (node: StepNode & { readonly arch: Arch }) => StepDefinition[];
  readonly containerd?: RenderedContainerd;
  readonly crio?: RenderedCrio;
}

/**
 * Renders a validated runtime section. The one check that needs the rendered config happens here:
 * overrides may not change a key kubeplug manages (recorded at `at.overrides`; nothing is returned then).
 */
export function planPoolRuntime(runtime: RuntimeConfig, context: RuntimeContext, at: Locator): PoolRuntimePlan | undefined {
  const { downloads } = context;
  switch (runtime.kind) {
    case "containerd": {
      const conflicts = overrideConflicts(runtime, context);
      for (const key of conflicts) at.child("overrides").problem(`${key} is managed by kubeplug; set it through the typed runtime fields instead of overrides`);
      if (conflicts.length > 0) return undefined;
      const rendered = renderContainerd(runtime, context);
      return {
        ...shared(runtime, context, rendered, `containerd ${runtime.version} (config version ${rendered.features.configVersion})`),
        ...secretStdin(rendered.credentials, (credentials) => renderCredentialFragment(runtime.version, credentials)),
        steps: (node) => prepared(node, context.prepare, containerdSteps({ node, config: runtime, rendered, downloads })),
        containerd: rendered,
      };
    }
    case "crio": {
      const rendered = renderCrio(runtime, context);
      return {
        ...shared(runtime, context, rendered, `CRI-O ${runtime.version}`),
        ...secretStdin(rendered.credentials, renderCrioAuthJson),
        steps: (node) => prepared(node, context.prepare, crioSteps({ node, config: runtime, rendered, downloads })),
        crio: rendered,
      };
    }
    default: {
      const never: never = runtime;
      throw new Error(`unhandled runtime kind ${JSON.stringify(never)}`);
    }
  }
}

/** node-prepare first; every step that depended on nothing (the installs) now depends on it. */
function prepared(node: StepNode, prepare: NodePrepareSettings, steps: StepDefinition[]): StepDefinition[] {
  return [nodePrepareStep(node, prepare), ...steps.map((step) => (step.dependsOn.length === 0 ? { ...step, dependsOn: [NODE_PREPARE_STEP] } : step))];
}

function shared(runtime: RuntimeConfig, context: RuntimeContext, rendered: { readonly runtimeEndpoint: string; readonly configHash: string }, description: string) {
  return {
    name: context.pool,
    kind: runtime.kind,
    description,
    runtimeEndpoint: rendered.runtimeEndpoint,
    configHash: rendered.configHash,
    handlers: Object.keys(runtime.runtimes),
  };
}

/** Credentials whose passwords are secret references become a payload rendered once the values exist. */
function secretStdin<Credential extends { readonly password: SecretRef }>(
  credentials: readonly Credential[],
  render: (withValues: (Omit<Credential, "password"> & { password: string })[]) => string,
): { stdin?: SecretStdin } {
  if (credentials.length === 0) return {};
  return { stdin: { refs: credentials.map((c) => c.password), render: (values) => render(credentials.map((c, i) => ({ ...c, password: values[i]! }))) } };
}
