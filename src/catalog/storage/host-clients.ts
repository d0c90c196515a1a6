import { NodePrerequisites } from "./types";

/**
 * Volume clients on the host itself, for mounts no CSI node plugin makes: the kubelet's in-tree `nfs`
 * and `iscsi` volume plugins run the host's mount.nfs and iscsiadm; csi-driver-smb's Kerberos mounts
 * (`sec=krb5`) need the host's cifs-utils and krb5 credentials cache (kubernetes-csi/csi-driver-smb
 * v1.20.3 docs/driver-parameters.md); iSCSI targets of drivers kubeplug does not deploy need iscsid
 * and an initiator name. The catalog's CSI drivers carry their own mount tools in their images.
 * Package contents read from Debian bookworm: nfs-common 1:2.6.2-4+deb12u1 (/sbin/mount.nfs),
 * cifs-utils 2:7.0-2+deb12u1 (/sbin/mount.cifs), open-iscsi 2.1.8-1+deb12u1 (iscsid.service, /etc/iscsi),
 * multipath-tools 0.9.4-3+deb12u2 (multipathd.service).
 */
export const HOST_CLIENTS = {
  nfs: { packages: ["nfs-common"], modules: ["nfs"], filesystems: ["nfs", "nfs4"], services: [], iscsiInitiator: false },
  smb: { packages: ["cifs-utils"], modules: ["cifs"], filesystems: ["cifs"], services: [], iscsiInitiator: false },
  iscsi: { packages: ["open-iscsi"], modules: ["iscsi_tcp"], filesystems: [], services: ["iscsid"], iscsiInitiator: true },
  multipath: { packages: ["multipath-tools"], modules: ["dm_multipath"], filesystems: [], services: ["multipathd"], iscsiInitiator: false },
} as const satisfies Record<string, NodePrerequisites>;

export type HostClient = keyof typeof HOST_CLIENTS;
export const HOST_CLIENT_NAMES = Object.keys(HOST_CLIENTS) as [HostClient, ...HostClient[]];
