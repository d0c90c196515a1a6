import * as pulumi from "@pulumi/pulumi";
import { CrioConfig, CrioConfigInput, crioRuntime } from "../../config/crio";
import { checkCrio } from "../../config/crio-checks";
import { createStepsForNodes } from "../node/node-step";
import { SecretValues, secretPayload } from "../node/secret-payload";
import { RenderedCrio, renderCrio, renderCrioAuthJson } from "./crio-render";
import { crioSteps } from "./crio-steps";
import { PoolRuntimeComponent, RuntimeArgsBase, validateRuntimeArgs, ValidatedRuntime, warnAll } from "./runtime-component";

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
export class CrioRuntime extends PoolRuntimeComponent<RenderedCrio> {
  constructor(name: string, args: CrioRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:runtime:CrioRuntime", name, opts, (parent) => {
      const { config, context, warnings } = validateCrioArgs(args);
      const rendered = renderCrio(config, { pool: name, cgroupDriver: context.cgroupDriver, cni: context.cni });
      warnAll(warnings, parent);
      const stdin = authStdin(rendered, args.secrets ?? {});
      const nodeSteps = createStepsForNodes(parent, args.nodes, (node) => crioSteps({ node, config, rendered, downloads: context.downloads }), stdin);
      return { rendered, handlers: Object.keys(config.runtimes), nodeSteps };
    });
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
