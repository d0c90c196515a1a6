// CSI drivers and StorageClasses only, on a cluster whose nodes kubeplug does not manage: the AWS EBS
// and EFS drivers from their pinned Helm charts, a default gp3 class, an io2 class and an EFS class.
// Class parameters are checked against each driver's catalog entry before anything registers.
import * as pulumi from "@pulumi/pulumi";
import { CsiDriver, StorageClass } from "kubeplug";

const config = new pulumi.Config();

const ebs = new CsiDriver("aws-ebs", { driver: "aws-ebs" });
const efs = new CsiDriver("aws-efs", { driver: "aws-efs" });

// A class waits for its driver: claims against a class without a driver stay Pending.
new StorageClass("gp3", {
  class: { driver: "aws-ebs", default: true, volumeBindingMode: "WaitForFirstConsumer", allowVolumeExpansion: true, parameters: { type: "gp3", encrypted: true } },
  dependsOn: [ebs],
});
new StorageClass("io2", {
  class: { driver: "aws-ebs", volumeBindingMode: "WaitForFirstConsumer", reclaimPolicy: "Retain", parameters: { type: "io2", iopsPerGB: 50, encrypted: true } },
  dependsOn: [ebs],
});
new StorageClass("efs-shared", {
  class: { driver: "aws-efs", parameters: { provisioningMode: "efs-ap", fileSystemId: config.require("efsFileSystemId"), directoryPerms: "700" } },
  dependsOn: [efs],
});

export const provisioners = { ebs: ebs.plan.entry.provisioner, efs: efs.plan.entry.provisioner };
export const chartVersions = { ebs: ebs.plan.version, efs: efs.plan.version };
