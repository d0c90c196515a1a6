import { z } from "zod";

/**
 * One storage provisioner kubeplug can deploy: a CSI driver from its upstream repository, or a
 * provisioner that is not CSI (rancher's local-path). Every fact names where it was read
 * (`<repo>@<commit>:<path>`), because drivers change their parameters and charts between releases.
 *
 * The catalog lives with the other facts (src/catalog) rather than under src/components/storage: the
 * config layer validates StorageClass parameters against it, and config may import facts only.
 */
export interface StorageDriverEntry {
  /** Catalog key the stack names: `aws-ebs`, `nfs`, `host-path`, ... */
  readonly id: string;
  readonly title: string;
  /** StorageClass.provisioner, and the CSIDriver object's name for CSI drivers. */
  readonly provisioner: string;
  /** False for provisioners that are not CSI (no CSIDriver object, no CSI sidecars, no snapshots). */
  readonly csi: boolean;
  /** `<owner>/<repo>`, the tag and the commit every fact of the entry was read at. */
  readonly upstream: { readonly repo: string; readonly tag: string; readonly commit: string };
  readonly install: InstallSource;
  /** What the driver can do, from its controller and node service code (code wins over docs). */
  readonly capabilities: DriverCapabilities;
  /** StorageClass `parameters`: a strict schema, so an unknown key is an error naming the known ones. */
  readonly parameters: z.ZodObject;
  /** VolumeSnapshotClass `parameters`; absent when the driver takes none (or has no snapshots). */
  readonly snapshotParameters?: z.ZodObject;
  /** What every node that can host the driver's node pods needs on the host itself. */
  readonly nodePrerequisites: NodePrerequisites;
  /**
   * Where the driver's install is told the kubelet's root directory (default /var/lib/kubelet):
   * a dotted chart values path (`node.kubeletPath`), or, for vendored manifests, the literal path
   * kubeplug rewrites. Undefined only for provisioners that do not mount through the kubelet.
   */
  readonly kubeletDir?: { readonly valuesPath: string } | { readonly manifestPath: string };
  /** Chart values that bundle a snapshot controller or CRDs, which kubeplug keeps off (it installs them once). */
  readonly bundledSnapshotterOff?: Readonly<Record<string, unknown>>;
  /** Said in docs/storage.md and the plan: deprecations, what is not CSI, what is demo only. */
  readonly notes: readonly string[];
}

export type InstallSource =
  | {
      readonly kind: "helm";
      readonly repo: string;
      readonly chart: string;
      /** A released chart version; never `latest` or a `charts/latest` directory. */
      readonly version: string;
      /** Images pinned explicitly where the chart's default tag is not the one its name says. */
      readonly images?: Readonly<Record<string, string>>;
      /** The chart's values.schema.json, vendored next to the entry with its source commit, where it ships one. */
      readonly valuesSchema?: string;
    }
  | {
      readonly kind: "manifests";
      /** Vendored upstream manifests (files under src/catalog/storage/manifests/<id>/), at `upstream.tag`. */
      readonly files: readonly string[];
      /** Every image the manifests deploy, pinned by tag (some tags deploy an older image than their name says). */
      readonly images: Readonly<Record<string, string>>;
    };

export type AccessMode = "ReadWriteOnce" | "ReadOnlyMany" | "ReadWriteMany" | "ReadWriteOncePod";

/** Every access mode: drivers whose volumes are shared filesystems, or block devices they can attach to many nodes. */
export const EVERY_ACCESS_MODE: readonly AccessMode[] = ["ReadWriteOnce", "ReadWriteOncePod", "ReadOnlyMany", "ReadWriteMany"];

/** What shared-filesystem drivers (NFS, SMB-like shares, CephFS) do: grow, snapshot, every access mode, no raw block, no topology. */
export const SHARED_FILESYSTEM: DriverCapabilities = { expansion: true, snapshots: true, block: false, topologyKeys: [], accessModes: EVERY_ACCESS_MODE };

/** Network block devices that attach anywhere and that every node can share (Ceph RBD, vSphere): as a share, plus raw block. */
export const SHARED_BLOCK: DriverCapabilities = { ...SHARED_FILESYSTEM, block: true };

export interface DriverCapabilities {
  readonly expansion: boolean;
  readonly snapshots: boolean;
  readonly block: boolean;
  /** Topology keys the driver reports; empty for drivers whose volumes reach every node. */
  readonly topologyKeys: readonly string[];
  readonly accessModes: readonly AccessMode[];
}

export interface NodePrerequisites {
  /** Debian package names (`nfs-common`, `cifs-utils`, `open-iscsi`, `multipath-tools`). */
  readonly packages: readonly string[];
  /** Kernel modules the node must be able to load (`rbd`, `nbd`, `iscsi_tcp`). */
  readonly modules: readonly string[];
  /** Filesystems the kernel must list in /proc/filesystems once the modules are loaded (`nfs`, `cifs`). */
  readonly filesystems: readonly string[];
  /** systemd units to enable and start (`iscsid`, `multipathd`). */
  readonly services: readonly string[];
  /** Whether the node needs an iSCSI initiator name (/etc/iscsi/initiatorname.iscsi), set once and kept. */
  readonly iscsiInitiator: boolean;
}

/** The external-snapshotter pieces installed once when any snapshot class is requested. */
export interface SnapshotterEntry {
  readonly upstream: { readonly repo: string; readonly tag: string; readonly commit: string };
  /** Vendored CRDs and controller manifests under src/catalog/storage/manifests/snapshot-controller/. */
  readonly crdFiles: readonly string[];
  readonly controllerFiles: readonly string[];
  readonly images: Readonly<Record<string, string>>;
}
