import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClassNode } from "../../config/runtime-class-selection";
import { planRuntimeClass } from "../../plan/component-plans";
import { PlannedRuntimeClass } from "./runtime-class-manifest";

export interface RuntimeClassArgs {
  /** The CRI handler: the runtimes-table key in containerd or CRI-O. */
  readonly handler: string;
  /** scheduling.nodeSelector: the node labels a pod of this class must land on; default none (every node of `nodes`). */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** overhead.podFixed, e.g. { cpu: "250m", memory: "160Mi" }. */
  readonly overhead?: { readonly cpu?: string | undefined; readonly memory?: string | undefined };
  /** Every node of the cluster with its labels and handlers: the selector must pick only nodes with the handler. */
  readonly nodes: readonly ClassNode[];
}

/** A class planCluster has already checked against every node: what Cluster passes. */
export interface PlannedRuntimeClassArgs {
  readonly fromPlan: PlannedRuntimeClass;
}

/**
 * A node.k8s.io/v1 RuntimeClass, refused when its selector picks a node whose runtime lacks the
 * handler (a pod would be scheduled there and fail to start). Make it depend on the runtime steps
 * of those nodes (`dependsOn`), so the class appears only once the handler is configured.
 */
export class RuntimeClass extends pulumi.ComponentResource {
  readonly manifest: Record<string, unknown>;
  readonly runtimeClass: k8s.node.v1.RuntimeClass;

  constructor(name: string, args: RuntimeClassArgs | PlannedRuntimeClassArgs, opts?: pulumi.ComponentResourceOptions) {
    const planned = "fromPlan" in args ? args.fromPlan : planRuntimeClass(name, args);
    super("kubeplug:runtime:RuntimeClass", name, {}, opts);
    this.manifest = planned.manifest as unknown as Record<string, unknown>;
    const { metadata, handler, scheduling, overhead } = planned.manifest;
    this.runtimeClass = new k8s.node.v1.RuntimeClass(
      name,
      {
        metadata: metadata as k8s.types.input.meta.v1.ObjectMeta,
        handler,
        ...(scheduling ? { scheduling: scheduling as k8s.types.input.node.v1.Scheduling } : {}),
        ...(overhead ? { overhead: overhead as k8s.types.input.node.v1.Overhead } : {}),
      },
      { parent: this },
    );
    this.registerOutputs({ manifest: this.manifest });
  }
}
