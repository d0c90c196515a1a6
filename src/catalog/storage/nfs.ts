import { z } from "zod";
import { checkSecretReferences, choice, octal, secretReferences, text } from "./parameters";
import { SHARED_FILESYSTEM, StorageDriverEntry } from "./types";

// Read at kubernetes-csi/csi-driver-nfs v4.13.4 (f09798c0): pkg/nfs/controllerserver.go:136-155 (keys lowercased, any
// other key "invalid parameter"), newNFSVolume (:689-735), newNFSSnapshot (:650-685), pkg/nfs/utils.go:41-46.

const SECRETS = ["provisioner"] as const;
const ON_DELETE = ["delete", "retain", "archive"] as const;

const parameters = z
  .strictObject({
    server: text("NFS server address (host name or IP). Required."),
    share: text("Exported path on the server, e.g. /exports; the docs call it required, the code only checks server.").optional(),
    subDir: text("Directory made under share per volume; default the PV name. May use ${pvc.metadata.name}, ${pvc.metadata.namespace}, ${pv.metadata.name}.").optional(),
    mountPermissions: octal("Mode the volume's directory is chmod-ed to, parsed as octal; default 0 (no chmod).").optional(),
    onDelete: choice(ON_DELETE, "What deleting the volume does to its directory; default delete.").optional(),
    // The secret holds `mountOptions` for the controller's own mount on delete, not credentials (docs/driver-parameters.md).
    ...secretReferences(SECRETS, "mountOptions for the controller's delete mount"),
  })
  .superRefine((p, ctx) => checkSecretReferences(p, ctx, SECRETS));

export const NFS: StorageDriverEntry = {
  id: "nfs",
  title: "NFS CSI driver",
  provisioner: "nfs.csi.k8s.io",
  csi: true,
  upstream: { repo: "kubernetes-csi/csi-driver-nfs", tag: "v4.13.4", commit: "f09798c0f1e7d1ae3b32dc8dfef67f6e848e8761" },
  // charts/v4.13.4/csi-driver-nfs: chart 4.13.4, appVersion 4.13.4, image nfsplugin:v4.13.4. Not charts/latest (v0.0.0, image latest).
  install: { kind: "helm", repo: "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts", chart: "csi-driver-nfs", version: "4.13.4" },
  // pkg/nfs/nfs.go:107-117: expansion is a capability only (no quota); snapshots are tarballs of the subdirectory.
  capabilities: SHARED_FILESYSTEM,
  parameters,
  snapshotParameters: z.strictObject({
    server: text("NFS server the snapshot tarballs are written to. Required by the driver."),
    share: text("Exported path on that server.").optional(),
    mountOptions: text("Mount options for the snapshot mount, comma-separated.").optional(),
  }),
  // nfs-common is in the plugin image (Dockerfile:21); the NFS client is the kernel's.
  nodePrerequisites: { packages: [], modules: ["nfs"], filesystems: ["nfs", "nfs4"], services: [], iscsiInitiator: false },
  kubeletDir: { valuesPath: "kubeletDir" },
  bundledSnapshotterOff: { "externalSnapshotter.enabled": false, "externalSnapshotter.customResourceDefinitions.enabled": false },
  notes: ["The NFS server is not deployed: bring your own export.", "The chart can deploy the snapshot controller and CRDs (externalSnapshotter.enabled); kubeplug keeps that off and installs them once."],
};
