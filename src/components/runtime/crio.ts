import * as pulumi from "@pulumi/pulumi";
import { CrioInput } from "../../config/input-types";
import { planRuntimeComponent } from "../../plan/component-plans";
import { plannedRuntime, PlannedRuntimeArgs, PoolRuntimeComponent, RuntimeArgsBase } from "./runtime-component";

export interface CrioRuntimeArgs extends RuntimeArgsBase {
  /** The same shape as a pool's `runtime` in a stack file (`kind: crio` may be left out). */
  readonly config: Omit<CrioInput, "kind"> & { readonly kind?: "crio" };
}

/** Validates and plans component arguments the way a stack file is; errors are rooted at `crio`. */
export function planCrioArgs(name: string, args: CrioRuntimeArgs) {
  return planRuntimeComponent("crio", name, args.nodes, args);
}

/**
 * CRI-O on a set of nodes: installs the OCI runtimes and CRI-O, then writes kubeplug's drop-in,
 * registries drop-in, crictl.yaml and auth.json.
 */
export class CrioRuntime extends PoolRuntimeComponent {
  constructor(name: string, args: CrioRuntimeArgs | PlannedRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:runtime:CrioRuntime", name, plannedRuntime(args, (a) => planCrioArgs(name, a)), opts);
  }
}
