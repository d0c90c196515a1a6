import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SnapshotClassInput, StorageClassInput } from "../../config/input-types";
import { planStorageComponents } from "../../plan/component-plans";
import { PlannedStorageObject } from "../../plan/storage-plan";

interface StorageObjectOptions {
  /** What the object waits for: its driver (a class without its driver leaves claims Pending), and for snapshot classes the snapshot CRDs. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

export interface StorageClassArgs extends StorageObjectOptions {
  /** As under `kubeplug:storage.classes.<name>`; its parameters are checked against the driver's catalog entry. */
  readonly class: StorageClassInput;
}

export interface SnapshotClassArgs extends StorageObjectOptions {
  /** As under `kubeplug:storage.snapshotClasses.<name>`. */
  readonly snapshotClass: SnapshotClassInput;
}

export interface PlannedStorageObjectArgs extends StorageObjectOptions {
  readonly fromPlan: PlannedStorageObject;
}

/** A storage.k8s.io/v1 StorageClass whose parameters were checked against its driver's catalog entry. */
export class StorageClass extends pulumi.ComponentResource {
  readonly manifest: PlannedStorageObject["manifest"];
  readonly storageClass: k8s.storage.v1.StorageClass;

  constructor(name: string, args: StorageClassArgs | PlannedStorageObjectArgs, opts?: pulumi.ComponentResourceOptions) {
    const planned = "fromPlan" in args ? args.fromPlan : planStorageComponents({ drivers: { [args.class.driver]: {} }, classes: { [name]: args.class } }).classes[0]!;
    super("kubeplug:storage:StorageClass", name, {}, opts);
    this.manifest = planned.manifest;
    this.storageClass = new k8s.storage.v1.StorageClass(name, planned.manifest as unknown as k8s.storage.v1.StorageClassArgs, { parent: this, dependsOn: [...(args.dependsOn ?? [])] });
    this.registerOutputs({ name: planned.name });
  }
}

/** A snapshot.storage.k8s.io/v1 VolumeSnapshotClass; it needs the snapshot CRDs, which the Snapshotter installs. */
export class VolumeSnapshotClass extends pulumi.ComponentResource {
  readonly manifest: PlannedStorageObject["manifest"];
  readonly snapshotClass: k8s.apiextensions.CustomResource;

  constructor(name: string, args: SnapshotClassArgs | PlannedStorageObjectArgs, opts?: pulumi.ComponentResourceOptions) {
    const planned =
      "fromPlan" in args ? args.fromPlan : planStorageComponents({ drivers: { [args.snapshotClass.driver]: {} }, snapshotClasses: { [name]: args.snapshotClass } }).snapshotClasses[0]!;
    super("kubeplug:storage:VolumeSnapshotClass", name, {}, opts);
    this.manifest = planned.manifest;
    this.snapshotClass = new k8s.apiextensions.CustomResource(name, planned.manifest as k8s.apiextensions.CustomResourceArgs, { parent: this, dependsOn: [...(args.dependsOn ?? [])] });
    this.registerOutputs({ name: planned.name });
  }
}
