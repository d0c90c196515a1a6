import { Arch } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { NetworkConfig } from "../../config/network";
import { StepDefinition } from "../node/step";
import { cniConflistStep, ConflistNode } from "./cni-conflist";
import { cniPluginsStep } from "./cni-plugins";

/** A node's CNI steps: plugin binaries first, then the lists that name them. */
export function networkSteps(network: NetworkConfig, node: ConflistNode & { readonly arch: Arch }, downloads: DownloadsConfig): StepDefinition[] {
  return [cniPluginsStep(network, node, downloads), cniConflistStep(network, node)];
}
