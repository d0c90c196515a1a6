import * as pulumi from "@pulumi/pulumi";
import { ContainerdConfig, ContainerdConfigInput, containerdRuntime } from "../../config/runtime";
import { checkContainerd } from "../../config/runtime-checks";
import { createStepsForNodes } from "../node/node-step";
import { SecretValues, secretPayload } from "../node/secret-payload";
import { RenderedContainerd, renderContainerd, renderCredentialFragment } from "./containerd-render";
import { containerdSteps } from "./containerd-steps";
import { PoolRuntimeComponent, RuntimeArgsBase, validateRuntimeArgs, ValidatedRuntime, warnAll } from "./runtime-component";

export type { RuntimeNode } from "./runtime-component";

export interface ContainerdRuntimeArgs extends RuntimeArgsBase {
  /** The same shape as a pool's `runtime` in a stack file (`kind: containerd` may be left out). */
  readonly config: Omit<ContainerdConfigInput, "kind"> & { readonly kind?: "containerd" };
}

/** Parses and checks component arguments the way a stack file is checked; errors are rooted at `containerd`. */
export function validateContainerdArgs(args: ContainerdRuntimeArgs): ValidatedRuntime<ContainerdConfig> {
  return validateRuntimeArgs("containerd", containerdRuntime, args, checkContainerd);
}

/**
 * containerd on a set of nodes: installs the OCI runtimes and containerd, then writes config.toml,
 * hosts.toml and runtime files. Every node gets the same rendered config, so `configHash` is one value.
 */
export class ContainerdRuntime extends PoolRuntimeComponent<RenderedContainerd> {
  constructor(name: string, args: ContainerdRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:runtime:ContainerdRuntime", name, opts, (parent) => {
      const { config, context, warnings } = validateContainerdArgs(args);
      const rendered = renderContainerd(config, { pool: name, cgroupDriver: context.cgroupDriver, cni: context.cni });
      warnAll(warnings, parent);
      const stdin = credentialStdin(config.version, rendered, args.secrets ?? {});
      const nodeSteps = createStepsForNodes(parent, args.nodes, (node) => containerdSteps({ node, config, rendered, downloads: context.downloads }), stdin);
      return { rendered, handlers: Object.keys(config.runtimes), nodeSteps };
    });
  }
}

/** The credential fragment the configure step appends to config.toml, as one Pulumi secret. */
function credentialStdin(version: string, rendered: RenderedContainerd, secrets: SecretValues): pulumi.Output<string> | undefined {
  if (rendered.credentials.length === 0) return undefined;
  return secretPayload(
    rendered.credentials.map((c) => c.password),
    secrets,
    (passwords) => renderCredentialFragment(version, rendered.credentials.map((c, i) => ({ host: c.host, username: c.username, password: passwords[i]! }))),
  );
}
