import { z } from "zod";
import { asInteger, choice, flag, FSTYPE, fsType, integer, isOn, text } from "./parameters";
import { StorageDriverEntry } from "./types";

// Read at kubernetes-sigs/aws-ebs-csi-driver v1.64.0 (6689789f); the chart at helm-chart-aws-ebs-csi-driver-2.64.0 (9767d852).
// Keys are matched case-insensitively by the driver (pkg/driver/controller.go: strings.ToLower(key)); kubeplug
// takes the spelling of docs/parameters.md.

/**
 * Provisioned IOPS per type. Minimums and the io1/io2 maximums are the driver's (pkg/cloud/cloud.go:74-82). The driver
 * caps a request above the maximum instead of failing, with the maximum a dry-run CreateVolume reports; its fallback
 * for gp3 is still 16000, while the error text it parses (cloud.go:220) and AWS today say 80000, which kubeplug takes.
 */
const IOPS: Readonly<Record<string, { readonly min: number; readonly max: number }>> = {
  io1: { min: 100, max: 64000 },
  io2: { min: 100, max: 256000 },
  gp3: { min: 3000, max: 80000 },
};
/** gp3 throughput in MiB/s. Not checked by the driver (it passes the value to EC2): AWS's current gp3 range. */
const GP3_THROUGHPUT = { min: 125, max: 2000 } as const;

const VOLUME_TYPES = ["gp3", "gp2", "io1", "io2", "sc1", "st1", "standard"] as const;

const parameters = z
  .strictObject({
    type: choice(VOLUME_TYPES, "EBS volume type; default gp3 (pkg/cloud/cloud.go: an empty type creates gp3)").optional(),
    // No limits here: the range is the type's, checked below, so a gp3 class is not told io2's maximum.
    iops: integer("Provisioned IOPS: io1 100–64000, io2 100–256000, gp3 3000–80000; not with iopsPerGB.", { unit: "IOPS" }).optional(),
    iopsPerGB: integer("IOPS per GiB of the requested size (io1, io2, gp3); not with iops. Capped at the type's maximum.", { min: 1 }).optional(),
    allowAutoIOPSPerGBIncrease: flag("Raise IOPS to the type's minimum when iopsPerGB × size is below it, instead of failing; default false.").optional(),
    allowAutoIOPSIncreaseOnModify: flag("Keep the iopsPerGB ratio when the volume is resized; default false.").optional(),
    throughput: integer("gp3 throughput; AWS default 125.", { ...GP3_THROUGHPUT, unit: "MiB/s" }).optional(),
    encrypted: flag("Encrypt the volume; default false.").optional(),
    kmsKeyId: text("Full ARN of the KMS key that encrypts the volume (with encrypted: true); default the account's EBS key.", { regex: /^arn:/, says: "a KMS key ARN (arn:...)" }).optional(),
    [FSTYPE]: fsType(["ext4", "xfs", "ext3"], "ext4"),
    blockSize: integer("mkfs block size (ext2/3/4, xfs).", { min: 1, unit: "bytes" }).optional(),
    inodeSize: integer("mkfs inode size (ext2/3/4, xfs).", { min: 1, unit: "bytes" }).optional(),
    bytesPerInode: integer("mkfs bytes-per-inode (ext2/3/4).", { min: 1 }).optional(),
    numberOfInodes: integer("mkfs number of inodes (ext2/3/4).", { min: 1 }).optional(),
    ext4BigAlloc: flag("Format ext4 with bigalloc; default false.").optional(),
    ext4ClusterSize: integer("ext4 cluster size with bigalloc (needs ext4BigAlloc: true).", { min: 1, unit: "bytes" }).optional(),
    ext4EncryptionSupport: flag("Format ext4 with the encrypt feature; default false.").optional(),
    volumeInitializationRate: integer("Initialization rate of a volume restored from a snapshot (EC2 checks the range).", { min: 1, unit: "MiB/s" }).optional(),
    blockAttachUntilInitialized: flag("Do not attach a restored volume before it is fully initialized; default false (code only: pkg/driver/constants.go).").optional(),
  })
  .superRefine((p, ctx) => {
    const type = p.type ?? "gp3";
    const limits = IOPS[type];
    if (p.iops !== undefined && p.iopsPerGB !== undefined) {
      ctx.addIssue({ code: "custom", path: ["iopsPerGB"], message: `not with iops (${JSON.stringify(p.iops)}): the driver takes one or the other (pkg/cloud/cloud.go: "specify either IOPS or IOPSPerGb, not both")` });
    }
    for (const key of ["iops", "iopsPerGB"] as const) {
      if (p[key] !== undefined && !limits) ctx.addIssue({ code: "custom", path: [key], message: `type "${type}" has no provisioned IOPS; ${key} is for io1, io2 and gp3` });
    }
    const iops = asInteger(p.iops);
    if (limits && iops !== undefined && (iops < limits.min || iops > limits.max)) {
      ctx.addIssue({ code: "custom", path: ["iops"], message: `${JSON.stringify(p.iops)} is outside ${type}'s ${limits.min}–${limits.max} IOPS` });
    }
    if ((type === "io1" || type === "io2") && p.iops === undefined && p.iopsPerGB === undefined) {
      ctx.addIssue({ code: "custom", path: ["type"], message: `"${type}" volumes need provisioned IOPS: set iops or iopsPerGB (EC2 refuses an ${type} volume without them; the driver does not check)` });
    }
    if (p.throughput !== undefined && type !== "gp3") {
      ctx.addIssue({ code: "custom", path: ["throughput"], message: `throughput is a gp3 setting; type is "${type}"` });
    }
    if (p.kmsKeyId !== undefined && !isOn(p.encrypted)) {
      ctx.addIssue({ code: "custom", path: ["kmsKeyId"], message: `a KMS key encrypts only with encrypted: true (${p.encrypted === undefined ? "encrypted is not set" : `encrypted is ${JSON.stringify(p.encrypted)}`})` });
    }
    if (p.ext4ClusterSize !== undefined && !isOn(p.ext4BigAlloc)) {
      ctx.addIssue({ code: "custom", path: ["ext4ClusterSize"], message: `needs ext4BigAlloc: true (pkg/driver/controller.go: "Cannot set ext4BigAllocClusterSize when ext4BigAlloc is false")` });
    }
  });

const lockModes = ["governance", "compliance"] as const;

export const AWS_EBS: StorageDriverEntry = {
  id: "aws-ebs",
  title: "AWS EBS CSI driver",
  provisioner: "ebs.csi.aws.com",
  csi: true,
  upstream: { repo: "kubernetes-sigs/aws-ebs-csi-driver", tag: "v1.64.0", commit: "6689789f192f8941878801f2730ea972a1196047" },
  install: {
    kind: "helm",
    repo: "https://kubernetes-sigs.github.io/aws-ebs-csi-driver",
    chart: "aws-ebs-csi-driver",
    // Chart 2.64.0 (tag helm-chart-aws-ebs-csi-driver-2.64.0, 9767d852) has appVersion 1.64.0 and image.tag "" (follows appVersion).
    version: "2.64.0",
    valuesSchema: "aws-ebs.schema.json",
  },
  capabilities: {
    // pkg/driver/controller.go:53-61; MULTI_NODE_MULTI_WRITER only for block io2 volumes (controller.go:783-800, cloud.go:731).
    expansion: true,
    snapshots: true,
    block: true,
    topologyKeys: ["topology.kubernetes.io/zone", "topology.ebs.csi.aws.com/zone", "topology.k8s.aws/zone-id", "topology.ebs.csi.aws.com/outpost-id"],
    accessModes: ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"],
  },
  parameters,
  snapshotParameters: z.strictObject({
    // docs/snapshot.md and pkg/driver/constants.go (snapshot keys).
    fastSnapshotRestoreAvailabilityZones: text("Comma-separated zones where the snapshot gets fast snapshot restore.").optional(),
    outpostArn: text("Outpost to keep the snapshot on.", { regex: /^arn:/, says: "an Outpost ARN (arn:...)" }).optional(),
    lockMode: choice(lockModes, "Lock the snapshot in governance or compliance mode.").optional(),
    lockDuration: integer("Lock duration.", { min: 1, unit: "days" }).optional(),
    lockExpirationDate: text("Lock expiry, YYYY-MM-DDThh:mm:ss.sssZ.").optional(),
    lockCoolOffPeriod: integer("Compliance-mode cool-off period.", { min: 1, unit: "hours" }).optional(),
  }),
  // The node plugin runs mkfs/mount from its image; EBS volumes attach as NVMe/xvd devices, no host tools.
  // It reads instance metadata: IMDSv2 with a hop limit of 2, or the Kubernetes node object (docs/install.md).
  nodePrerequisites: { packages: [], modules: [], filesystems: [], services: [], iscsiInitiator: false },
  kubeletDir: { valuesPath: "node.kubeletPath" },
  notes: [
    "The chart no longer ships the snapshot controller or CRDs (docs/install.md): kubeplug installs them once, before the driver.",
    "StorageClass keys are case-insensitive to the driver. kubeplug refuses the driver's `tagSpecification_<n>` tag keys (not modelled yet) and the deprecated `blockExpress`, which the driver ignores.",
  ],
};
