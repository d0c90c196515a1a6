import type { KubeplugCluster, KubeplugNetwork, KubeplugStorage } from "./generated/stack-types";

// What component Args take, in the shapes of the stack file sections. They come from the generated
// interfaces (equal to z.input of the schemas, test/unit/stack-types.test.ts), so an editor shows each
// field's description and default, written once in the schema.

export type PoolRuntimeInput = KubeplugCluster["pools"][number]["runtime"];
export type ContainerdInput = Extract<PoolRuntimeInput, { kind: "containerd" }>;
export type CrioInput = Extract<PoolRuntimeInput, { kind: "crio" }>;
export type DownloadsInput = NonNullable<KubeplugCluster["downloads"]>;
export type CniDirsInput = Pick<NonNullable<KubeplugNetwork["cni"]>, "binDir" | "confDir">;
export type NetworkInput = KubeplugNetwork;
export type CniProviderInput = NonNullable<KubeplugNetwork["provider"]>;
export type StorageDriverInput = Omit<NonNullable<KubeplugStorage["drivers"]>[string], "pools">;
export type StorageClassInput = NonNullable<KubeplugStorage["classes"]>[string];
export type SnapshotClassInput = NonNullable<KubeplugStorage["snapshotClasses"]>[string];
