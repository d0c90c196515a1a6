import { z } from "zod";
import { checkSecretReferences, choice, secretReferences, text } from "./parameters";
import { EVERY_ACCESS_MODE, StorageDriverEntry } from "./types";

// Read at kubernetes-csi/csi-driver-smb v1.20.3 (59dce96e): pkg/smb/controllerserver.go:456-477 (keys lowercased, any other
// key "invalid parameter"), pkg/smb/nodeserver.go:180-270 (credentials), pkg/smb/smb.go:188-201 (capabilities).

const SECRETS = ["provisioner", "node-stage"] as const;

const parameters = z
  .strictObject({
    source: text("The share, //server/share. Required.", { regex: /^\/\/[^/]+\/.+/, says: "a share such as //server/share" }),
    subDir: text("Directory made under the share per volume; default the PV name. May use ${pvc.metadata.name}, ${pvc.metadata.namespace}, ${pv.metadata.name}.").optional(),
    onDelete: choice(["delete", "retain", "archive"], "What deleting the volume does to its directory; default delete.").optional(),
    ...secretReferences(SECRETS, "username, password and optionally domain"),
  })
  .superRefine((p, ctx) => checkSecretReferences(p, ctx, SECRETS));

export const SMB: StorageDriverEntry = {
  id: "smb",
  title: "SMB CSI driver",
  provisioner: "smb.csi.k8s.io",
  csi: true,
  upstream: { repo: "kubernetes-csi/csi-driver-smb", tag: "v1.20.3", commit: "59dce96e11522a46354d6970393b00b1c2a57351" },
  // charts/v1.20.3/csi-driver-smb: chart 1.20.3, appVersion 1.20.3, image smbplugin:v1.20.3. Not charts/latest.
  install: { kind: "helm", repo: "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-smb/master/charts", chart: "csi-driver-smb", version: "1.20.3" },
  capabilities: {
    // Expansion is a capability only; no snapshots, no block.
    expansion: true,
    snapshots: false,
    block: false,
    topologyKeys: [],
    accessModes: EVERY_ACCESS_MODE,
  },
  parameters,
  // cifs-utils is in the plugin image (cmd/smbplugin/Dockerfile:17); the CIFS client is the kernel's.
  nodePrerequisites: { packages: [], modules: ["cifs"], filesystems: ["cifs"], services: [], iscsiInitiator: false },
  kubeletDir: { valuesPath: "linux.kubelet" },
  notes: [
    "The docs mark the node-stage secret as required; the code mounts without one when the class's mountOptions say guest or sec=krb5, so kubeplug does not require it (a class without either fails at mount time).",
    "Kerberos needs a krb5 credential cache on the host (linux.krb5CacheDirectory), which kubeplug does not manage.",
    "Inline (ephemeral) volumes are on by default in the chart (feature.enableInlineVolume: true).",
  ],
};
