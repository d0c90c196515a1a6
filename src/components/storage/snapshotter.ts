import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SNAPSHOTTER } from "../../catalog/storage";
import { snapshotterManifests, yamlDocuments } from "./driver-manifests";

export interface SnapshotterArgs {
  /** What the CRDs wait for. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/**
 * The external-snapshotter's VolumeSnapshot CRDs and snapshot-controller, once per cluster. Drivers'
 * csi-snapshotter sidecars watch the CRDs, and snapshot classes are instances of them, so the CRDs come
 * first, then the controller, then any snapshot class.
 */
export class Snapshotter extends pulumi.ComponentResource {
  readonly crds: k8s.yaml.v2.ConfigGroup;
  readonly controller: k8s.yaml.v2.ConfigGroup;

  constructor(name: string, args: SnapshotterArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:storage:Snapshotter", name, {}, opts);
    const manifests = snapshotterManifests();
    this.crds = new k8s.yaml.v2.ConfigGroup(`${name}-crds`, { yaml: yamlDocuments(manifests.crds) }, { parent: this, dependsOn: [...(args.dependsOn ?? [])] });
    this.controller = new k8s.yaml.v2.ConfigGroup(`${name}-controller`, { yaml: yamlDocuments(manifests.controller) }, { parent: this, dependsOn: [this.crds] });
    this.registerOutputs({ version: SNAPSHOTTER.upstream.tag });
  }
}
