/**
 * Renders a 1,000-node stack (four pools: containerd 1.6 from Debian, 1.7 and 2.1 from releases,
 * 2.1 with mirrors, credentials and extra runtimes; CNI plugins and a bridge conflist with a pod
 * subnet per node; storage: EBS everywhere, NFS and Ceph RBD on two pools with their node
 * prerequisites, host iSCSI and NFS clients on one, four classes and a snapshot class) the way
 * `npm run render` does, writes the output
 * tree, then renders it again, and prints time and peak memory per phase.
 *
 *   npm run bench            # or: tsx bench/render.ts [nodes]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateStackConfig } from "../src/config/stack";
import { planCluster } from "../src/plan/cluster-plan";
import { writeOutput } from "../src/plan/output-dir";
import { planToTree } from "../src/plan/render-tree";

const NODES = Number(process.argv[2] ?? 1000);

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

function stackValues(nodes: number): Record<string, unknown> {
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

function measure<T>(label: string, run: () => T): T {
  const start = process.hrtime.bigint();
  const result = run();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  console.log(`${label.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms   rss ${rssMiB.toFixed(0).padStart(5)} MiB`);
  return result;
}

const out = mkdtempSync(join(tmpdir(), "kubeplug-bench-"));
try {
  console.log(`kubeplug render benchmark: ${NODES} nodes in ${pools.length} pools (node ${process.version})`);
  const total = process.hrtime.bigint();
  const { config } = measure("validate stack", () => validateStackConfig("bench", stackValues(NODES)));
  const plan = measure("render node steps", () => planCluster(config));
  const tree = measure("lay out output tree", () => planToTree(plan));
  measure("write output (first render)", () => writeOutput(out, tree));
  const totalMs = Number(process.hrtime.bigint() - total) / 1e6;
  const second = measure("re-render + diff (unchanged)", () => writeOutput(out, planToTree(planCluster(validateStackConfig("bench", stackValues(NODES)).config))));
  const changed = [...second.changes.values()].filter((c) => c !== "unchanged").length;
  const steps = plan.nodes.reduce((n, node) => n + node.steps.length, 0);
  const bytes = [...tree.values()].reduce((n, f) => n + Buffer.byteLength(f.content), 0);
  console.log(`\nnodes ${plan.nodes.length}, steps ${steps}, files ${tree.size}, output ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  console.log(`first render: ${(totalMs / 1000).toFixed(2)} s; second render changed ${changed} file(s)`);
  console.log(`peak memory (max RSS): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
