// kubeplug's public API: components, their argument types, and the pure plan behind them.
export { Cluster, ClusterArgs } from "./components/cluster";
export { ContainerdRuntime, ContainerdRuntimeArgs, planContainerdArgs, RuntimeNode } from "./components/runtime/containerd";
export { renderContainerd, RenderedContainerd } from "./components/runtime/containerd-render";
export { CrioRuntime, CrioRuntimeArgs, planCrioArgs } from "./components/runtime/crio";
export { PlannedRuntimeArgs } from "./components/runtime/runtime-component";
export { RuntimeClass, RuntimeClassArgs } from "./components/runtime/runtime-class";
export { ClassNode } from "./config/runtime-class-selection";
export { NodeNetwork, NodeNetworkArgs, planNetworkArgs } from "./components/network/node-network";
export { CniProvider, CniProviderArgs } from "./components/network/providers/provider";
export { parseCniProvider, CniProviderSettings, CniProviderSettingsInput } from "./config/cni-provider";
export { PROVIDER_RELEASES } from "./catalog/cni-providers";
export { providerValues } from "./components/network/providers/values";
export { NodeConnection } from "./components/node/connection";
export { NodeStep, NodeStepArgs, parseStepResult, StepResult } from "./components/node/node-step";
export { NodeStepSpec } from "./components/node/step";
export { parseStackFile, StackConfig, validateStackConfig } from "./config/stack";
export { loadStack, stackNames } from "./plan/stack-files";
// What a stack file holds, as written (defaults not yet applied), with each field's description:
// generated from the schema by `npm run reference`.
export { KubeplugCluster, KubeplugConfig, KubeplugNetwork, KubeplugStackFile, KubeplugStorage, SecureValue } from "./config/generated/stack-types";
export { CniDirsInput, CniProviderInput, ContainerdInput, CrioInput, DownloadsInput, NetworkInput, PoolRuntimeInput } from "./config/input-types";
export { planCluster, ClusterPlan, ConnectionFacts, NodePlan, PlannedStep } from "./plan/cluster-plan";
export { PoolRuntimePlan } from "./plan/runtime-plan";
export { CniProviderPlan } from "./plan/network-plan";
export { KubeplugConfigError, ConfigProblem } from "./errors";
export { CsiDriver, CsiDriverArgs } from "./components/storage/csi-driver";
export { StorageClass, StorageClassArgs, SnapshotClassArgs, VolumeSnapshotClass } from "./components/storage/storage-class";
export { Snapshotter, SnapshotterArgs } from "./components/storage/snapshotter";
export { STORAGE_DRIVERS, SNAPSHOTTER } from "./catalog/storage";
export { StorageDriverEntry } from "./catalog/storage/types";
export { StoragePlan, PlannedStorageDriver, PlannedStorageObject } from "./plan/storage-plan";
export { SnapshotClassInput, StorageClassInput, StorageDriverInput } from "./config/input-types";
