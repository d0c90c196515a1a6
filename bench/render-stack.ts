/**
 * The stack the render benchmark renders: four pools (containerd 1.6 from Debian, 1.7 and 2.1 from
 * releases, 2.1 with mirrors, credentials and extra runtimes); CNI plugins and a bridge conflist
 * with a pod subnet per node; storage: EBS everywhere, NFS and Ceph RBD on two pools with their node
 * prerequisites, host iSCSI and NFS clients on one, four classes and a snapshot class.
 */
const mirrors = (host: string) => ({
  mirrors: [
    { url: `https://mirror-a.internal.example/${host}`, capabilities: ["pull", "resolve"], overridePath: true, ca: ["/etc/pki/internal-ca.pem"] },
    { url: "https://mirror-b.internal.example:5000", auth: { username: "puller", password: { from: "config", key: "mirrorPassword" } } },
  ],
});

const registries = { hosts: Object.fromEntries(["docker.io", "ghcr.io", "quay.io", "registry.k8s.io"].map((h) => [h, mirrors(h)])) };

const pools = [
  { name: "legacy", labels: { "kubeplug.dev/pool": "legacy" }, runtime: { kind: "containerd", version: "1.6.20" } },
  { name: "general", labels: { "kubeplug.dev/pool": "general" }, runtime: { kind: "containerd", version: "1.7.24", install: { from: "release" }, registries } },
  {
    name: "sandboxed",
    labels: { "kubeplug.dev/pool": "sandboxed" },
    runtime: {
      kind: "containerd",
      version: "2.1.9",
      install: { from: "release" },
      registries,
      runtimes: {
        runc: { engine: "runc" },
        crun: { engine: "crun" },
        gvisor: { engine: "gvisor", install: { from: "release", version: "20260817.0" } },
        kata: { engine: "kata", install: { from: "release", version: "3.32.0" } },
      },
    },
  },
  { name: "edge", labels: { "kubeplug.dev/pool": "edge" }, runtime: { kind: "containerd", version: "2.1.9", registries, snapshotter: "native" } },
];

export function stackValues(nodes: number): Record<string, unknown> {
  return {
    "kubeplug:mirrorPassword": { secure: "v1:bench" },
    "kubeplug:cluster": {
      name: "bench",
      ssh: { privateKeyPath: "/dev/null", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2staG9zdC1rZXktZ29sZGVuLi4uLi4uLi4uLi4u" },
      pools,
      nodes: Array.from({ length: nodes }, (_, i) => ({
        name: `node${String(i).padStart(4, "0")}`,
        pool: pools[i % pools.length]!.name,
        address: `10.${10 + Math.floor(i / 62500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`,
        arch: i % 10 === 0 ? "arm64" : "amd64",
        podCIDR: `100.${64 + (i >> 8)}.${i & 255}.0/24`,
      })),
    },
    "kubeplug:storage": {
      drivers: { "aws-ebs": {}, nfs: { pools: ["general", "edge"] }, "ceph-rbd": { pools: ["sandboxed", "edge"] } },
      hostClients: { clients: ["nfs", "iscsi"], pools: ["legacy"] },
      classes: {
        gp3: { driver: "aws-ebs", default: true, volumeBindingMode: "WaitForFirstConsumer", allowVolumeExpansion: true, parameters: { type: "gp3", iops: 6000, throughput: 250, encrypted: true } },
        io2: { driver: "aws-ebs", volumeBindingMode: "WaitForFirstConsumer", parameters: { type: "io2", iops: 20000 } },
        nfs: { driver: "nfs", parameters: { server: "nfs.internal.example", share: "/exports" }, mountOptions: ["nfsvers=4.1"] },
        rbd: {
          driver: "ceph-rbd",
          parameters: {
            clusterID: "b9127830-b0cc-4e34-aa47-9d1a2e9949a8",
            pool: "kubernetes",
            "csi.storage.k8s.io/provisioner-secret-name": "csi-rbd-secret",
            "csi.storage.k8s.io/provisioner-secret-namespace": "ceph-csi",
            "csi.storage.k8s.io/controller-expand-secret-name": "csi-rbd-secret",
            "csi.storage.k8s.io/controller-expand-secret-namespace": "ceph-csi",
            "csi.storage.k8s.io/node-stage-secret-name": "csi-rbd-secret",
            "csi.storage.k8s.io/node-stage-secret-namespace": "ceph-csi",
          },
        },
      },
      snapshotClasses: { ebs: { driver: "aws-ebs", default: true } },
    },
    "kubeplug:network": {
      podCIDR: "100.64.0.0/10",
      cni: {
        conflists: [
          {
            name: "kubeplug",
            plugins: [
              { type: "bridge", bridge: "kp0", isGateway: true, ipMasq: true, ipam: { type: "host-local" } },
              { type: "portmap", capabilities: { portMappings: true } },
              { type: "bandwidth", capabilities: { bandwidth: true } },
            ],
          },
        ],
      },
    },
  };
}
