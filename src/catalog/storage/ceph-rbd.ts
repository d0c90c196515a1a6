import { z } from "zod";
import { cephChart, cephSecretReferences, cephSharedParameters, cephSnapshotParameters, CEPH_NOTES, checkCephSecrets, clusterID } from "./ceph";
import { asInteger, choice, flag, FSTYPE, fsType, integer, text } from "./parameters";
import { SHARED_BLOCK, StorageDriverEntry } from "./types";

// ceph/ceph-csi v3.12.2 (dcf14882): internal/rbd/controllerserver.go:70-200 (validateVolumeReq, parseVolCreateRequest),
// internal/rbd/rbd_util.go:1290-1400 (genVolFromVolumeOptions, striping, image features), internal/rbd/encryption.go.
// The driver does not refuse unknown keys; kubeplug does, to catch typos.

const FEATURES = ["layering", "journaling", "exclusive-lock", "object-map", "fast-diff", "deep-flatten"] as const;
/** librbd feature dependencies (rbd_util.go supportedFeatures): the driver refuses a feature without them. */
const NEEDS: Readonly<Record<string, readonly string[]>> = {
  journaling: ["exclusive-lock"],
  "object-map": ["exclusive-lock"],
  "fast-diff": ["object-map"],
};

const parameters = z
  .strictObject({
    clusterID: clusterID(),
    pool: text("RBD pool the images are created in; required unless topologyConstrainedPools.").optional(),
    dataPool: text("Erasure-coded data pool; the metadata stays in pool.").optional(),
    radosNamespace: text("RADOS namespace within the pool (controllerserver.go: must not be empty when set).").optional(),
    imageFeatures: text(`Comma-separated image features from ${FEATURES.join(", ")}; the chart's default is layering. An empty list is refused by the driver.`).optional(),
    mounter: choice(["rbd", "rbd-nbd"], "rbd (krbd, the kernel client; the default, rbd_util.go:50) or rbd-nbd.").optional(),
    tryOtherMounters: flag("Fall back to the other mounter when mapping fails; default false.").optional(),
    mkfsOptions: text("mkfs options instead of the defaults (ext4: -m0 -Enodiscard,lazy_itable_init=1,lazy_journal_init=1; xfs: -K).").optional(),
    mapOptions: text("Map options, krbd:opt,opt;nbd:opt.").optional(),
    unmapOptions: text("Unmap options, krbd:opt;nbd:opt.").optional(),
    cephLogDir: text("Log directory of rbd-nbd in the plugin container; default /var/log/ceph.").optional(),
    cephLogStrategy: choice(["remove", "compress", "preserve"], "What happens to an rbd-nbd volume's log on unmap; default remove.").optional(),
    ...cephSharedParameters(),
    encryptionType: choice(["block", "file"], "LUKS on the block device (block, the default) or fscrypt (file).").optional(),
    topologyConstrainedPools: text("JSON list of pools per topology domain, [{\"poolName\":...,\"domainSegments\":[...]}].").optional(),
    stripeUnit: integer("Stripe unit; with stripeCount.", { min: 1, unit: "bytes" }).optional(),
    stripeCount: integer("Objects to stripe over; with stripeUnit.", { min: 1 }).optional(),
    objectSize: integer("Object size, a power of 2.", { min: 1, unit: "bytes" }).optional(),
    [FSTYPE]: fsType(["ext4", "xfs"], "ext4"),
    ...cephSecretReferences(),
  })
  .superRefine((p, ctx) => {
    if (p.pool === undefined && p.topologyConstrainedPools === undefined) {
      ctx.addIssue({ code: "custom", path: ["pool"], message: "required unless topologyConstrainedPools is set (controllerserver.go: \"empty pool name or topologyConstrainedPools\")" });
    }
    if (p.imageFeatures !== undefined) {
      const features = p.imageFeatures.split(",");
      for (const feature of features) {
        if (!(FEATURES as readonly string[]).includes(feature)) ctx.addIssue({ code: "custom", path: ["imageFeatures"], message: `${JSON.stringify(feature)} is not an RBD image feature: ${FEATURES.join(", ")}` });
        for (const needed of NEEDS[feature] ?? []) {
          if (!features.includes(needed)) ctx.addIssue({ code: "custom", path: ["imageFeatures"], message: `${feature} needs ${needed} in imageFeatures` });
        }
      }
    }
    if ((p.stripeUnit === undefined) !== (p.stripeCount === undefined)) {
      ctx.addIssue({ code: "custom", path: [p.stripeUnit === undefined ? "stripeUnit" : "stripeCount"], message: "stripeUnit and stripeCount are set together (controllerserver.go validateStriping)" });
    }
    const size = asInteger(p.objectSize);
    if (size !== undefined && size > 0 && (size & (size - 1)) !== 0) {
      ctx.addIssue({ code: "custom", path: ["objectSize"], message: `${JSON.stringify(p.objectSize)} is not a power of 2` });
    }
    if (p.encryptionType !== undefined && p.encrypted === undefined) {
      ctx.addIssue({ code: "custom", path: ["encryptionType"], message: "only with encrypted: true" });
    }
    checkCephSecrets(p, ctx);
  });

export const CEPH_RBD: StorageDriverEntry = {
  id: "ceph-rbd",
  title: "Ceph CSI RBD driver",
  provisioner: "rbd.csi.ceph.com",
  csi: true,
  upstream: { repo: "ceph/csi-charts", tag: "ceph-csi-rbd-3.17.1", commit: "25b67a45a8b0728e29c8e1efcea35e3eb7ca2e60" },
  install: cephChart("ceph-csi-rbd"),
  // internal/rbd/driver/driver.go:109-124; multi-node access only for block volumes (nodeserver.go:165-170).
  capabilities: SHARED_BLOCK,
  parameters,
  snapshotParameters: cephSnapshotParameters(),
  // The plugin image carries the Ceph client libraries and rbd/rbd-nbd; krbd needs the kernel's rbd module, loaded from
  // the host's /lib/modules that the node plugin mounts (nodeplugin-daemonset.yaml). rbd-nbd needs nbd.
  nodePrerequisites: { packages: [], modules: ["rbd"], filesystems: [], services: [], iscsiInitiator: false },
  kubeletDir: { valuesPath: "kubeletDir" },
  notes: [
    ...CEPH_NOTES,
    "Topology-aware provisioning needs the driver's --domainlabels and topologyConstrainedPools; kubeplug lists no topology keys.",
    "With mounter: rbd-nbd the node also needs the nbd kernel module.",
  ],
};
