import { z } from "zod";
import { checkSecretReferences, flag, secretReferences, SecretUse, text } from "./parameters";
import { InstallSource } from "./types";

/**
 * What ceph-csi's RBD and CephFS drivers share: the chart repository, the secrets, the snapshot class, the deprecation.
 *
 * The charts are the released 3.17.1 ones, read from ceph/csi-charts (docs/index.yaml and the .tgz files at 25b67a45
 * for rbd, 00a38c44 for cephfs). The ceph-csi source snapshot here stops at v3.12.2 (dcf14882), so the parameter names
 * are from that code and from the 3.17.1 charts' storageclass.yaml templates, which list the same keys.
 */
export const CEPH_CHART_REPO = "https://ceph.github.io/csi-charts";
export const CEPH_CHART_VERSION = "3.17.1";

export const cephChart = (chart: "ceph-csi-rbd" | "ceph-csi-cephfs"): InstallSource => ({ kind: "helm", repo: CEPH_CHART_REPO, chart, version: CEPH_CHART_VERSION });

/** Both drivers authenticate every call with the Ceph user in these Secrets (docs/deploy-rbd.md, docs/deploy-cephfs.md). */
export const CEPH_SECRETS: readonly SecretUse[] = ["provisioner", "controller-expand", "node-stage", "controller-publish"];
export const CEPH_REQUIRED_SECRETS: readonly SecretUse[] = ["provisioner", "controller-expand", "node-stage"];

export const cephSecretReferences = () => secretReferences(CEPH_SECRETS, "the Ceph user's id and key (userID/userKey or adminID/adminKey)");
export const checkCephSecrets = (p: Readonly<Record<string, unknown>>, ctx: z.RefinementCtx) => checkSecretReferences(p, ctx, CEPH_SECRETS, CEPH_REQUIRED_SECRETS);

export const clusterID = () => text("Id of the Ceph cluster in the driver's ceph-csi-config (csiConfig); at most 36 bytes. Required.", { regex: /^.{1,36}$/, says: "at most 36 characters" });
export const cephSharedParameters = () => ({
  volumeNamePrefix: text("Prefix of the image/subvolume names; default csi-vol-.").optional(),
  encrypted: flag("Encrypt the volume; do not change it on an existing class.").optional(),
  encryptionKMSID: text("KMS entry (ceph-csi-encryption-kms-config) holding the passphrases.").optional(),
});

export const cephSnapshotParameters = () =>
  z
    .strictObject({
      clusterID: clusterID(),
      snapshotNamePrefix: text("Prefix of snapshot names; default csi-snap-.").optional(),
      ...secretReferences(["snapshotter"], "the Ceph user's id and key"),
    })
    .superRefine((p, ctx) => checkSecretReferences(p, ctx, ["snapshotter"], ["snapshotter"]));

export const CEPH_NOTES = [
  "ceph-csi's Helm charts and YAML deployments are deprecated in v3.18 and to be removed in v3.19 in favour of the Ceph-CSI operator (ceph/ceph-csi#6467, #6507; charts ceph-csi-operator and ceph-csi-drivers at https://ceph.github.io/ceph-csi-operator). The install source is one field: move it to the operator's charts when they leave experimental.",
  "The chart needs csiConfig (clusterID → monitors) in its values and the Ceph user's Secret; neither is created by kubeplug.",
];

