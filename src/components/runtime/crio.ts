import * as pulumi from "@pulumi/pulumi";
import { CrioConfig, CrioConfigInput, crioRuntime } from "../../config/crio";
import { checkCrio } from "../../config/crio-checks";
import { createStepsForNodes, NodeStep } from "../node/node-step";
import { SecretValues, secretPayload } from "../node/secret-payload";
import { RenderedCrio, renderCrio, renderCrioAuthJson } from "./crio-render";
import { crioSteps } from "./crio-steps";
import { RuntimeArgsBase, validateRuntimeArgs, ValidatedRuntime, warnAll } from "./runtime-component";

export interface CrioRuntimeArgs extends RuntimeArgsBase {
  /** The same shape as a pool's `runtime` in a stack file (`kind: crio` may be left out). */
  readonly config: Omit<CrioConfigInput, "kind"> & { readonly kind?: "crio" };
}

/** Parses and checks component arguments the way a stack file is checked; errors are rooted at `crio`. */
export function validateCrioArgs(args: CrioRuntimeArgs): ValidatedRuntime<CrioConfig> {
  return validateRuntimeArgs("crio", crioRuntime, args, checkCrio);
}

/**
 * CRI-O on a set of nodes: installs the OCI runtimes and CRI-O, then writes kubeplug's drop-in,
 * registries drop-in, crictl.yaml and auth.json.
 */
export class CrioRuntime extends pulumi.ComponentResource {
  /** The kubelet's `containerRuntimeEndpoint`. */
  readonly runtimeEndpoint: pulumi.Output<string>;
  readonly configHash: pulumi.Output<string>;
  /** Handler names this runtime knows: what a RuntimeClass may point at. */
  readonly handlers: readonly string[];
  readonly nodeSteps: Readonly<Record<string, readonly NodeStep[]>>;
  readonly rendered: RenderedCrio;

  constructor(name: string, args: CrioRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:runtime:CrioRuntime", name, {}, opts);
    const { config, context, warnings } = validateCrioArgs(args);
    const rendered = renderCrio(config, { pool: name, cgroupDriver: context.cgroupDriver, cni: context.cni });
    this.rendered = rendered;
    this.handlers = Object.keys(config.runtimes);
    const stdin = authStdin(rendered, args.secrets ?? {});
    warnAll(warnings, this);
    this.nodeSteps = createStepsForNodes(this, args.nodes, (node) => crioSteps({ node, config, rendered, downloads: context.downloads }), stdin);
    this.runtimeEndpoint = pulumi.output(rendered.runtimeEndpoint);
    this.configHash = pulumi.output(rendered.configHash);
    this.registerOutputs({ runtimeEndpoint: this.runtimeEndpoint, configHash: this.configHash });
  }
}

function authStdin(rendered: RenderedCrio, secrets: SecretValues): pulumi.Output<string> | undefined {
  if (rendered.credentials.length === 0) return undefined;
  return secretPayload(
    rendered.credentials.map((c) => c.password),
    secrets,
    (passwords) => renderCrioAuthJson(rendered.credentials.map((c, i) => ({ registry: c.registry, username: c.username, password: passwords[i]! }))),
  );
}
