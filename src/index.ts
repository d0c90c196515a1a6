// kubeplug's public API: components, their argument types, and the pure renderers behind them.
export { Cluster, ClusterArgs } from "./components/cluster";
export { ContainerdRuntime, ContainerdRuntimeArgs, RuntimeNode, validateContainerdArgs } from "./components/runtime/containerd";
export { renderContainerd, RenderedContainerd } from "./components/runtime/containerd-render";
export { CrioRuntime, CrioRuntimeArgs, validateCrioArgs } from "./components/runtime/crio";
export { RuntimeClass, RuntimeClassArgs } from "./components/runtime/runtime-class";
export { NodeNetwork, NodeNetworkArgs, validateNetworkArgs } from "./components/network/node-network";
export { CniProvider, CniProviderArgs } from "./components/network/providers/provider";
export { parseCniProvider, CniProviderSettings, CniProviderSettingsInput } from "./config/cni-provider";
export { PROVIDER_RELEASES } from "./catalog/cni-providers";
export { providerValues } from "./components/network/providers/values";
export { NodeConnection } from "./components/node/connection";
export { NodeStep, NodeStepArgs, parseStepResult, StepResult } from "./components/node/node-step";
export { NodeStepSpec } from "./components/node/step";
export { loadStack, parseStackFile, StackConfig, validateStackConfig } from "./config/stack";
export { planCluster, ClusterPlan } from "./plan/cluster-plan";
export { KubeplugConfigError, ConfigProblem } from "./errors";
