import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import yaml from "js-yaml";
import { StorageClass as StorageClassModel } from "kubernetes-models/storage.k8s.io/v1/StorageClass";
import { beforeAll, describe, expect, it } from "vitest";
import { SNAPSHOTTER, vendoredManifest } from "../../src/catalog/storage";
import { Cluster } from "../../src/components/cluster";
import { StorageClass, VolumeSnapshotClass } from "../../src/components/storage/storage-class";
import { CsiDriver } from "../../src/components/storage/csi-driver";
import { parseStackFile } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";
import { planToTree } from "../../src/plan/render-tree";
import { driverFile, SNAPSHOT_CLASSES_FILE, SNAPSHOTTER_FILE, STORAGE_CLASSES_FILE } from "../../src/plan/storage-tree";
import { KubeplugConfigError } from "../../src/errors";
import { recordResources } from "../support/pulumi-mocks";
import { MOCK_HOST_KEY } from "../support/stack-yaml";

/** A two-pool stack with the given kubeplug:storage section (YAML, indented under it). */
function stack(storage: string, kubelet = "{ cgroupDriver: systemd }"): string {
  return `config:
  kubeplug:cluster:
    name: t
    ssh: { privateKeyPath: /dev/null, hostKey: ${MOCK_HOST_KEY} }
    kubelet: ${kubelet}
    pools:
      - { name: general, runtime: { kind: containerd, version: 2.1.9, install: { from: package } } }
      - { name: storage, runtime: { kind: containerd, version: 2.1.9, install: { from: package } } }
    nodes:
      - { name: n1, pool: general, address: 192.0.2.1 }
      - { name: n2, pool: storage, address: 192.0.2.2 }
  kubeplug:storage:
${storage.replace(/^/gm, "    ")}
`;
}

function plan(storage: string, kubelet?: string) {
  const { config, warnings } = parseStackFile("t", stack(storage, kubelet), "t.yaml");
  return { plan: planCluster(config), warnings };
}

const docs = (text: string) => (yaml.loadAll(text) as unknown[]).filter((d) => d !== null) as Record<string, unknown>[];

const THREE_DRIVERS = `drivers:
  host-path: {}
  nfs: { pools: [storage] }
  aws-ebs: {}
hostClients: { clients: [iscsi], pools: [storage] }
classes:
  csi-hostpath-sc: { driver: host-path }
  nfs-share: { driver: nfs, parameters: { server: nfs.internal.example, share: /exports }, mountOptions: [nfsvers=4.1] }
  gp3: { driver: aws-ebs, default: true, volumeBindingMode: WaitForFirstConsumer, allowVolumeExpansion: true, parameters: { type: gp3, iops: 4000, throughput: 250, encrypted: true } }
snapshotClasses:
  hostpath-snap: { driver: host-path, default: true }
  ebs-snap: { driver: aws-ebs, deletionPolicy: Retain }`;

describe("storage plan and render", () => {
  it("upstream's host path tutorial class renders exactly upstream's object (csi-driver-host-path examples/csi-storageclass.yaml)", () => {
    const { plan: p, warnings } = plan(`drivers: { host-path: {} }
classes:
  csi-hostpath-sc: { driver: host-path, reclaimPolicy: Delete, volumeBindingMode: Immediate }`);
    const tree = planToTree(p);
    expect(docs(tree.get(STORAGE_CLASSES_FILE)!.content)).toEqual([
      { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "csi-hostpath-sc" }, provisioner: "hostpath.csi.k8s.io", reclaimPolicy: "Delete", volumeBindingMode: "Immediate" },
    ]);
    // The tutorial's Immediate binding on a node-bound driver is allowed, and said.
    expect(warnings.map((w) => w.path)).toContain("kubeplug:storage.classes.csi-hostpath-sc.volumeBindingMode");
  });

  it("every rendered StorageClass validates against the Kubernetes OpenAPI schema, with parameters as strings", () => {
    const tree = planToTree(plan(THREE_DRIVERS).plan);
    const classes = docs(tree.get(STORAGE_CLASSES_FILE)!.content);
    expect(classes.map((c) => (c.metadata as { name: string }).name)).toEqual(["csi-hostpath-sc", "nfs-share", "gp3"]);
    for (const doc of classes) expect(() => new StorageClassModel(doc as never).validate()).not.toThrow();
    expect(classes[2]).toMatchObject({
      metadata: { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", iops: "4000", throughput: "250", encrypted: "true" },
      allowVolumeExpansion: true,
    });
  });

  it("every rendered VolumeSnapshotClass validates against the vendored external-snapshotter CRD's schema", () => {
    const tree = planToTree(plan(THREE_DRIVERS).plan);
    const crd = docs(vendoredManifest("snapshot-controller", "snapshot.storage.k8s.io_volumesnapshotclasses.yaml"))[0] as {
      spec: { versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[] };
    };
    const v1 = crd.spec.versions.find((v) => v.name === "v1")!.schema.openAPIV3Schema;
    const validate = new Ajv({ strict: false, allErrors: true }).compile(v1);
    const classes = docs(tree.get(SNAPSHOT_CLASSES_FILE)!.content);
    expect(classes.map((c) => c.driver)).toEqual(["hostpath.csi.k8s.io", "ebs.csi.aws.com"]);
    for (const doc of classes) expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...classes[0], deletionPolicy: "Keep" })).toBe(false);
    expect(classes[0]).toMatchObject({ metadata: { annotations: { "snapshot.storage.kubernetes.io/is-default-class": "true" } }, deletionPolicy: "Delete" });
  });

  it("the snapshotter is rendered once, with the controller image its tag really ships, only when a snapshot class asks for it", () => {
    const tree = planToTree(plan(THREE_DRIVERS).plan);
    const objects = docs(tree.get(SNAPSHOTTER_FILE)!.content);
    expect(objects.filter((d) => d.kind === "CustomResourceDefinition")).toHaveLength(SNAPSHOTTER.crdFiles.length);
    expect(tree.get(SNAPSHOTTER_FILE)!.content).toContain("image: registry.k8s.io/sig-storage/snapshot-controller:v8.5.0");
    expect(planToTree(plan(`drivers: { nfs: {} }`).plan).has(SNAPSHOTTER_FILE)).toBe(false);
  });

  it("a moved kubelet root reaches every driver: vendored manifests are rewritten, charts get it at their own values path", () => {
    const { plan: p } = plan(THREE_DRIVERS, "{ cgroupDriver: systemd, rootDir: /var/lib/k0s/kubelet }");
    const tree = planToTree(p);
    const hostPath = tree.get(driverFile("host-path"))!.content;
    expect(hostPath).toContain("/var/lib/k0s/kubelet/plugins/csi-hostpath");
    expect(hostPath).not.toMatch(/\/var\/lib\/kubelet\b/);
    const nfs = docs(tree.get(driverFile("nfs"))!.content)[0] as { chart: unknown; values: Record<string, unknown>; nodes: string[] };
    expect(nfs.chart).toEqual({ repo: "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts", chart: "csi-driver-nfs", version: "4.13.4" });
    expect(nfs.values).toEqual({ kubeletDir: "/var/lib/k0s/kubelet", externalSnapshotter: { enabled: false, customResourceDefinitions: { enabled: false } } });
    expect(nfs.nodes).toEqual(["n2"]);
    expect(p.storage.drivers.find((d) => d.id === "aws-ebs")!.values).toEqual({ node: { kubeletPath: "/var/lib/k0s/kubelet" } });
  });

  it("storage-prepare runs after node-prepare and before the runtime's installs, only on nodes that host a driver or a host client with prerequisites", () => {
    const { plan: p } = plan(THREE_DRIVERS);
    const [n1, n2] = p.nodes;
    // n1 hosts host-path and aws-ebs (nothing on the host); n2 also hosts nfs (the kernel's NFS client) and the iSCSI client.
    expect(n1!.steps.map((s) => s.id)).not.toContain("storage-prepare");
    expect(n2!.steps.slice(0, 3).map((s) => s.id)).toEqual(["node-prepare", "storage-prepare", "oci-runtimes-install"]);
    expect(n2!.steps[2]!.dependsOn).toContain("storage-prepare");
    expect(n2!.steps[1]!.summary).toBe(
      "node prerequisites of iscsi-client, nfs: packages open-iscsi; modules iscsi_tcp, nfs; filesystems nfs, nfs4; services iscsid; iSCSI initiator name (set once, then kept)",
    );
  });

  it("chart values are checked against the chart's values.schema.json, and what kubeplug sets is not the stack's to change", () => {
    expect(() => plan(`drivers: { aws-ebs: { values: { controller: { replicaCount: 3 } } } }`)).not.toThrow();
    let error: unknown;
    try {
      plan(`drivers:
  aws-ebs: { values: { controler: { replicaCount: 3 }, node: { kubeletPath: /x } } }`);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KubeplugConfigError);
    expect((error as Error).message.split("\n").slice(1)).toEqual([
      "  kubeplug:storage.drivers.aws-ebs.values.node.kubeletPath: kubeplug sets node.kubeletPath itself (from kubeplug:cluster.kubelet.rootDir); remove it from values",
      '  kubeplug:storage.drivers.aws-ebs.values.controler: the aws-ebs-csi-driver chart\'s values.schema.json has no value "controler" here',
    ]);
  });
});

describe("storage components", () => {
  let recorded: Awaited<ReturnType<typeof recordResources>>["recorded"];
  beforeAll(async () => {
    const { plan: p } = plan(THREE_DRIVERS);
    ({ recorded } = await recordResources("storage", () => {
      new Cluster("c", { plan: p, readPrivateKey: () => "key" });
      // The same components alone, as another program imports them.
      const driver = new CsiDriver("ebs", { driver: "aws-ebs", kubeletDir: "/data/kubelet" });
      new StorageClass("fast", { class: { driver: "aws-ebs", parameters: { type: "io2", iops: 6000 } }, dependsOn: [driver] });
      new VolumeSnapshotClass("snaps", { snapshotClass: { driver: "aws-ebs" } });
      new CsiDriver("ceph", { driver: "ceph-rbd", settings: { namespace: "ceph-csi-rbd" } });
    }));
    await recorded.settled(({ ofType }) => {
      expect(ofType("kubeplug:storage:VolumeSnapshotClass")).toHaveLength(3);
      expect(ofType("kubernetes:storage.k8s.io/v1:StorageClass")).toHaveLength(4);
      // Inputs arrive once a resource's dependencies resolve.
      for (const r of [...ofType("kubernetes:helm.sh/v4:Chart"), ...ofType("kubernetes:storage.k8s.io/v1:StorageClass")]) expect(Object.keys(r.inputs)).not.toEqual([]);
      expect(ofType("kubernetes:apiextensions.k8s.io:CustomResource").length + ofType("kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass").length).toBe(3);
    });
  });
  const deps = (type: string, name: string) => recorded.get(type, name).dependsOn;
  const CHART = "kubernetes:helm.sh/v4:Chart";
  const GROUP = "kubernetes:yaml/v2:ConfigGroup";

  it("Cluster orders the graph: prerequisites before the driver, the driver before its classes, CRDs before the controller before snapshot classes", () => {
    // Each driver waits for every step of the nodes that host it, storage-prepare among them.
    expect(deps(CHART, "nfs")).toEqual(expect.arrayContaining(["n2-storage-prepare", "n2-containerd-configure"]));
    expect(deps(CHART, "nfs")).not.toContain("n1-node-prepare");
    expect(deps(CHART, "aws-ebs")).toEqual(expect.arrayContaining(["n1-containerd-configure", "n2-containerd-configure", "snapshot-controller-crds"]));
    expect(deps(GROUP, "host-path")).toEqual(expect.arrayContaining(["n1-containerd-configure", "n2-storage-prepare", "snapshot-controller-crds"]));
    expect(deps("kubernetes:storage.k8s.io/v1:StorageClass", "gp3")).toEqual(["aws-ebs"]);
    expect(deps("kubernetes:storage.k8s.io/v1:StorageClass", "nfs-share")).toEqual(["nfs"]);
    expect(deps(GROUP, "snapshot-controller-controller")).toEqual(["snapshot-controller-crds"]);
    const snapshotClass = recorded.all().find((r) => r.name === "hostpath-snap" && r.type.startsWith("kubernetes:"))!;
    expect(snapshotClass.dependsOn).toEqual(["host-path", "snapshot-controller-controller"]);
    // Vendored manifests become a ConfigGroup, charts a helm.v4.Chart at the catalog's version.
    expect(recorded.get(GROUP, "host-path").inputs.yaml).toContain("hostpath.csi.k8s.io");
    expect(recorded.get(CHART, "aws-ebs").inputs).toMatchObject({ chart: "aws-ebs-csi-driver", version: "2.64.0", namespace: "kube-system" });
    // host path's manifests deploy into default and the charts into kube-system: kubeplug creates no namespace for them.
    expect(recorded.ofType("kubernetes:core/v1:Namespace").map((n) => n.name)).toEqual(["ceph-namespace"]);
  });

  it("each component works alone and checks its input like a stack does", () => {
    expect(recorded.get(CHART, "ebs").inputs.values).toEqual({ node: { kubeletPath: "/data/kubelet" } });
    expect(recorded.get("kubernetes:storage.k8s.io/v1:StorageClass", "fast").inputs).toMatchObject({ provisioner: "ebs.csi.aws.com", parameters: { type: "io2", iops: "6000" } });
    expect(deps("kubernetes:storage.k8s.io/v1:StorageClass", "fast")).toEqual(["ebs"]);
    // A chart released into its own namespace gets it first, labelled for the privileged node plugin.
    expect(recorded.get("kubernetes:core/v1:Namespace", "ceph-namespace").inputs).toMatchObject({ metadata: { name: "ceph-csi-rbd", labels: { "pod-security.kubernetes.io/enforce": "privileged" } } });
    expect(deps(CHART, "ceph")).toEqual(["ceph-namespace"]);
    expect(() => new StorageClass("bad", { class: { driver: "aws-ebs", parameters: { type: "gp3", iopz: 3000 } } })).toThrow(/storage\.classes\.bad\.parameters\.iopz: AWS EBS CSI driver does not know the parameter "iopz"; did you mean "iops"\?/);
    expect(() => new CsiDriver("x", { driver: "nfs", settings: { version: "4.0.0" } })).toThrow(/storage\.drivers\.nfs\.version: .*4\.0\.0 is not in the catalog: kubeplug pins 4\.13\.4/);
  });
});

describe("the dev stack's storage", () => {
  it("renders host path, NFS and their classes under cluster/storage/", () => {
    const { config } = parseStackFile("dev", readFileSync(join(__dirname, "..", "..", "stacks", "Pulumi.dev.yaml"), "utf8"), "stacks/Pulumi.dev.yaml");
    const paths = [...planToTree(planCluster(config)).keys()].filter((k) => k.startsWith("cluster/storage/")).sort();
    expect(paths).toEqual([STORAGE_CLASSES_FILE, driverFile("host-path"), driverFile("nfs"), SNAPSHOT_CLASSES_FILE, SNAPSHOTTER_FILE].sort());
  });
});
