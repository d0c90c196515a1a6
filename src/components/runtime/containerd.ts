import * as pulumi from "@pulumi/pulumi";
import { ContainerdInput } from "../../config/input-types";
import { planRuntimeComponent } from "../../plan/component-plans";
import { plannedRuntime, PlannedRuntimeArgs, PoolRuntimeComponent, RuntimeArgsBase } from "./runtime-component";

export type { RuntimeNode } from "./runtime-component";

export interface ContainerdRuntimeArgs extends RuntimeArgsBase {
  /** The same shape as a pool's `runtime` in a stack file (`kind: containerd` may be left out). */
  readonly config: Omit<ContainerdInput, "kind"> & { readonly kind?: "containerd" };
}

/** Validates and plans component arguments the way a stack file is; errors are rooted at `containerd`. */
export function planContainerdArgs(name: string, args: ContainerdRuntimeArgs) {
  return planRuntimeComponent("containerd", name, args.nodes, args);
}

/**
 * containerd on a set of nodes: prepares each node (kernel modules, sysctls, the swap check: `prepare`,
 * `kubeletSwap`), installs the OCI runtimes, containerd and crictl (with /etc/crictl.yaml), then writes
 * config.toml, hosts.toml and runtime files. Every node gets the same rendered config, so `configHash` is one value.
 */
export class ContainerdRuntime extends PoolRuntimeComponent {
  constructor(name: string, args: ContainerdRuntimeArgs | PlannedRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    // Planned before anything registers: bad Args fail the program, not half a deployment.
    super("kubeplug:runtime:ContainerdRuntime", name, plannedRuntime(args, (a) => planContainerdArgs(name, a)), opts);
  }
}
