import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { planStorageComponents } from "../../plan/component-plans";
import { PlannedStorageDriver } from "../../plan/storage-plan";
import { StorageDriverInput } from "../../config/input-types";
import { yamlDocuments } from "./driver-manifests";
import { privilegedNamespace } from "../privileged-namespace";

interface CsiDriverOptions {
  /**
   * Create the driver's namespace, labelled for privileged pods (CSI node plugins mount host paths and
   * run privileged, which the baseline and restricted Pod Security levels forbid). Default: true unless
   * it is kube-system or default, or the driver's own manifests create it. Set false when something else creates it.
   */
  readonly createNamespace?: boolean;
  /** What the driver waits for: the node steps that install its prerequisites, and the snapshot CRDs where it takes snapshots. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

export interface CsiDriverArgs extends CsiDriverOptions {
  /** The catalog id: aws-ebs, nfs, host-path, ... (docs/storage.md). */
  readonly driver: string;
  /** As under `kubeplug:storage.drivers.<id>` (without `pools`: a component alone has no pools). */
  readonly settings?: StorageDriverInput;
  /** The kubelet's --root-dir on the nodes; default /var/lib/kubelet. */
  readonly kubeletDir?: string;
}

/** A driver planCluster has already validated and planned: what Cluster passes. */
export interface PlannedCsiDriverArgs extends CsiDriverOptions {
  readonly fromPlan: PlannedStorageDriver;
}

/**
 * A storage driver from its pinned upstream source: its Helm chart at the catalog's version with the
 * values the plan set (helm.v4.Chart: Pulumi renders the templates and manages the objects), or its
 * vendored manifests told where the kubelet's root is.
 */
export class CsiDriver extends pulumi.ComponentResource {
  readonly plan: PlannedStorageDriver;
  readonly resources: k8s.helm.v4.Chart | k8s.yaml.v2.ConfigGroup;

  constructor(name: string, args: CsiDriverArgs | PlannedCsiDriverArgs, opts?: pulumi.ComponentResourceOptions) {
    // Planned before super(): a bad driver must fail before anything registers with the engine.
    const plan = "fromPlan" in args ? args.fromPlan : planStorageComponents({ drivers: { [args.driver]: args.settings ?? {} } }, args.kubeletDir).drivers[0]!;
    super("kubeplug:storage:CsiDriver", name, {}, opts);
    this.plan = plan;
    const deps = [...(args.dependsOn ?? [])];
    if (args.createNamespace ?? plan.createNamespace) deps.push(privilegedNamespace(name, plan.namespace, this, args.dependsOn ?? []));
    const install = plan.install;
    this.resources =
      install.kind === "helm"
        ? new k8s.helm.v4.Chart(
            name,
            { chart: install.chart, version: install.version, repositoryOpts: { repo: install.repo }, namespace: plan.namespace, values: plan.values as pulumi.Inputs },
            { parent: this, dependsOn: deps },
          )
        : new k8s.yaml.v2.ConfigGroup(name, { yaml: yamlDocuments(plan.manifests) }, { parent: this, dependsOn: deps });
    this.registerOutputs({ provisioner: plan.entry.provisioner, version: plan.version, namespace: plan.namespace });
  }
}
