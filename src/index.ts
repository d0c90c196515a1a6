// kubeplug's public API: components, their argument types, and the pure renderers behind them.
export { Cluster, ClusterArgs } from "./components/cluster";
export { ContainerdRuntime, ContainerdRuntimeArgs, RuntimeNode, validateContainerdArgs } from "./components/runtime/containerd";
export { renderContainerd, RenderedContainerd } from "./components/runtime/containerd-render";
export { CrioRuntime, CrioRuntimeArgs, validateCrioArgs } from "./components/runtime/crio";
export { RuntimeClass, RuntimeClassArgs } from "./components/runtime/runtime-class";
export { NodeNetwork, NodeNetworkArgs, validateNetworkArgs } from "./components/network/node-network";
export { CniProvider, CniProviderArgs } from "./components/network/providers/provider";
export { parseCniProvider, CniProviderSettings, CniProviderSettingsInput } from "./components/network/providers/schema";
export { PROVIDER_RELEASES, providerValues } from "./components/network/providers/values";
export { NodeConnection } from "./components/node/connection";
export { NodeStep, NodeStepArgs, parseStepResult, StepResult } from "./components/node/node-step";
export { NodeStepSpec } from "./components/node/step";
export { loadStack, parseStackFile, StackConfig, validateStackConfig } from "./config/stack";
// What a stack file holds, as written (defaults not yet applied), with each field's description:
// generated from the schema by `npm run reference`.
export { KubeplugCluster, KubeplugConfig, KubeplugNetwork, KubeplugStackFile, KubeplugStorage, SecureValue } from "./config/generated/stack-types";
export { planCluster, ClusterPlan } from "./plan/cluster-plan";
export { KubeplugConfigError, ConfigProblem } from "./errors";
