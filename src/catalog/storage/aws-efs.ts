import { z } from "zod";
import { asInteger, checkSecretReferences, choice, flag, integer, octal, secretReferences, text } from "./parameters";
import { StorageDriverEntry } from "./types";

// Read at kubernetes-sigs/aws-efs-csi-driver v3.4.1 (3fcc6bdd; the chart tag helm-chart-aws-efs-csi-driver-4.4.1 is the
// same commit): pkg/driver/controller.go:41-76 (keys), :186-330 (CreateVolume), docs/parameters.md.

const SECRETS = ["provisioner"] as const;
const FILE_SYSTEM_KEYS = ["fileSystemId", "fileSystemIdConfigRef", "fileSystemIdSecretRef"] as const;
const ref = { regex: /^[^/]+\/[^/]+\/[^/]+$/, says: "namespace/name/key" };

const parameters = z
  .strictObject({
    provisioningMode: choice(["efs-ap", "s3files-ap"], "Required. An access point per volume on an EFS (efs-ap) or S3 Files (s3files-ap) file system; the docs list only efs-ap (code: controller.go:42-43)."),
    fileSystemId: text("The file system the access points are made on (fs-...); exactly one of fileSystemId, fileSystemIdConfigRef, fileSystemIdSecretRef.").optional(),
    fileSystemIdConfigRef: text("ConfigMap key holding the file system id.", ref).optional(),
    fileSystemIdSecretRef: text("Secret key holding the file system id.", ref).optional(),
    directoryPerms: octal("Permissions of the access point's root directory, e.g. \"700\" (required in the docs).").optional(),
    uid: integer("POSIX user id of the access point; overrides the allocated range.", { min: 0 }).optional(),
    gid: integer("POSIX group id of the access point; overrides the allocated range.", { min: 0 }).optional(),
    gidRangeStart: integer("First group id allocated to access points; default 50000 (code, controller.go:46; docs/parameters.md says 7000000). With gidRangeEnd.", { min: 1 }).optional(),
    gidRangeEnd: integer("Last group id allocated; default 60000 (code). With gidRangeStart.", { min: 1 }).optional(),
    basePath: text("Directory on the file system under which access point roots are made.").optional(),
    subPathPattern: text("Root directory of each access point under basePath; default /${.PV.name} (variables .PVC.name, .PVC.namespace, .PV.name).").optional(),
    ensureUniqueDirectory: flag("Append a UUID to the subPathPattern directory; default true.").optional(),
    az: text("Availability zone of a One Zone file system for cross-account mounts; EFS only.").optional(),
    enforceZoneAffinity: flag("Report topology for One Zone file systems; default false.").optional(),
    reuseAccessPoint: flag("Reuse the access point of a claim of the same name; EFS only; default false.").optional(),
    enableTagging: flag("Tag access points; default true. false with the controller's --tags is refused by the driver.").optional(),
    ...secretReferences(SECRETS, "the cross-account role (awsRoleArn, externalId)"),
  })
  .superRefine((p, ctx) => {
    const set = FILE_SYSTEM_KEYS.filter((key) => p[key] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({ code: "custom", path: [set[1] ?? "fileSystemId"], message: set.length === 0 ? `required: one of ${FILE_SYSTEM_KEYS.join(", ")}` : `only one of ${FILE_SYSTEM_KEYS.join(", ")}; ${set.join(" and ")} are set` });
    }
    if ((p.gidRangeStart === undefined) !== (p.gidRangeEnd === undefined)) {
      ctx.addIssue({ code: "custom", path: [p.gidRangeStart === undefined ? "gidRangeStart" : "gidRangeEnd"], message: "gidRangeStart and gidRangeEnd are set together" });
    }
    const start = asInteger(p.gidRangeStart);
    const end = asInteger(p.gidRangeEnd);
    if (start !== undefined && end !== undefined && end <= start) {
      ctx.addIssue({ code: "custom", path: ["gidRangeEnd"], message: `${JSON.stringify(p.gidRangeEnd)} must be above gidRangeStart (${JSON.stringify(p.gidRangeStart)})` });
    }
    if (p.provisioningMode === "s3files-ap") {
      for (const key of ["az", "reuseAccessPoint"] as const) {
        if (p[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `${key} is for EFS file systems; provisioningMode is "s3files-ap"` });
      }
    }
    checkSecretReferences(p, ctx, SECRETS);
  });

export const AWS_EFS: StorageDriverEntry = {
  id: "aws-efs",
  title: "AWS EFS CSI driver",
  provisioner: "efs.csi.aws.com",
  csi: true,
  upstream: { repo: "kubernetes-sigs/aws-efs-csi-driver", tag: "v3.4.1", commit: "3fcc6bdd7533a4cfd15643b31593f7ff154584c9" },
  // Chart 4.4.1, appVersion 3.4.1, image pinned v3.4.1 in values.yaml:15.
  install: { kind: "helm", repo: "https://kubernetes-sigs.github.io/aws-efs-csi-driver/", chart: "aws-efs-csi-driver", version: "4.4.1" },
  capabilities: {
    // controller.go:80-82 (CREATE_DELETE_VOLUME only), node.go:43-46 (access modes), node.go:448-453 (filesystem only).
    expansion: false,
    snapshots: false,
    block: false,
    topologyKeys: [],
    accessModes: ["ReadWriteOnce", "ReadWriteMany"],
  },
  parameters,
  // efs-utils and stunnel (TLS mounts) are in the node image (Dockerfile); the NFS client is the kernel's.
  nodePrerequisites: { packages: [], modules: ["nfs"], filesystems: ["nfs4"], services: [], iscsiInitiator: false },
  kubeletDir: { valuesPath: "node.kubeletPath" },
  notes: [
    "No expansion and no snapshots: the controller only creates and deletes access points.",
    "The chart applies its CSIDriver as a Helm pre-install hook with helm.sh/resource-policy: keep (useHelmHooksForCSIDriver: true).",
    "With enforceZoneAffinity, One Zone file systems report topology; the key was not read, so kubeplug lists none.",
  ],
};
