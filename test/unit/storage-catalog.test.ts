import Ajv2019 from "ajv/dist/2019";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAll } from "js-yaml";
import { describe, expect, it } from "vitest";
import { driverManifests, kubeplugChartValues, SNAPSHOTTER, SNAPSHOTTER_ID, STORAGE_DRIVERS, vendoredManifest, withImages, withKubeletDir } from "../../src/catalog/storage";
import { imageRepository } from "../../src/catalog/storage/manifests";
import { Findings } from "../../src/config/findings";
import { storageConfig } from "../../src/config/storage";
import { checkStorage } from "../../src/config/storage-checks";

const STORAGE = join(__dirname, "..", "..", "src", "catalog", "storage");
const entries = Object.values(STORAGE_DRIVERS);
const manifestEntries = entries.filter((e) => e.install.kind === "manifests");
const vendoredFolders = [...manifestEntries.map((e) => e.id), SNAPSHOTTER_ID];

/** The problems checkStorage reports for one class of `driver` with `parameters`. */
function classProblems(driver: string, parameters: Record<string, unknown>, snapshot = false): string[] {
  const storage = storageConfig.parse({
    drivers: { [driver]: {} },
    ...(snapshot ? { snapshotClasses: { snap: { driver, parameters } } } : { classes: { sc: { driver, parameters } } }),
  });
  const findings = new Findings();
  checkStorage(storage, [], STORAGE_DRIVERS, findings.at("kubeplug:storage"));
  return findings.problems.map((p) => `${p.path}: ${p.message}`);
}
const ok = (driver: string, parameters: Record<string, unknown>) => expect(classProblems(driver, parameters)).toEqual([]);

const TAG = /:(v?\d+\.\d+(\.\d+)?[\w.-]*)$/;

describe("storage catalog entries", () => {
  it("has the 13 drivers, keyed by id", () => {
    expect(Object.keys(STORAGE_DRIVERS).sort()).toEqual(
      ["aws-ebs", "aws-efs", "azure-disk", "azure-file", "ceph-rbd", "cephfs", "gcp-filestore", "gcp-pd", "host-path", "local-path", "nfs", "smb", "vsphere"],
    );
    for (const [id, entry] of Object.entries(STORAGE_DRIVERS)) expect(entry.id).toBe(id);
  });

  it.each(entries.map((e) => [e.id, e] as const))("%s is pinned: a released version, a commit, no latest or canary", (_, entry) => {
    expect(entry.upstream.commit).toMatch(/^[0-9a-f]{40}$/);
    const pins = JSON.stringify(entry.install) + entry.upstream.tag;
    expect(pins).not.toMatch(/latest|canary|master\/charts\/latest/);
    if (entry.install.kind === "helm") {
      expect(entry.install.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(entry.install.repo).toMatch(/^https:\/\//);
      expect(entry.install.repo).not.toMatch(/charts\/latest/);
    } else {
      for (const ref of Object.values(entry.install.images)) expect(ref, ref).toMatch(TAG);
    }
    for (const ref of Object.values(entry.install.kind === "helm" ? (entry.install.images ?? {}) : {})) expect(ref).toMatch(TAG);
  });

  it("CSI drivers' provisioners are DNS names; only local-path is not CSI, and it has no kubelet mounts or snapshots", () => {
    for (const entry of entries) expect(entry.provisioner, entry.id).toMatch(/^[a-z0-9.-]+(\/[a-z0-9-]+)?$/);
    expect(entries.filter((e) => !e.csi).map((e) => e.id)).toEqual(["local-path"]);
    expect(STORAGE_DRIVERS["local-path"]!.kubeletDir).toBeUndefined();
  });

  it("capabilities are consistent: snapshots need CSI, snapshot parameters need snapshots, every CSI driver mounts through the kubelet", () => {
    for (const entry of entries) {
      if (entry.capabilities.snapshots) expect(entry.csi, entry.id).toBe(true);
      if (entry.snapshotParameters) expect(entry.capabilities.snapshots, entry.id).toBe(true);
      if (entry.csi) expect(entry.kubeletDir, entry.id).toBeDefined();
      expect(entry.capabilities.accessModes.length, entry.id).toBeGreaterThan(0);
      if (entry.install.kind === "manifests" && entry.kubeletDir) expect(entry.kubeletDir).toEqual({ manifestPath: "/var/lib/kubelet" });
      if (entry.install.kind === "helm") expect(entry.kubeletDir && "valuesPath" in entry.kubeletDir, entry.id).toBe(true);
    }
  });

  it("no parameter is an inlined secret: credentials are only referenced by Secret name and namespace", () => {
    const inlined = /password|passwd|token|credential|^(user|admin|account|private|access|secret)key$|^key$|^secret$/i;
    for (const entry of entries) {
      for (const schema of [entry.parameters, entry.snapshotParameters].filter((s) => s !== undefined)) {
        for (const key of Object.keys(schema.shape)) expect(key, `${entry.id}: ${key}`).not.toMatch(inlined);
      }
    }
  });
});

describe("vendored manifests", () => {
  it.each(vendoredFolders)("%s has a SOURCE.md naming the upstream commit", (id) => {
    const source = readFileSync(join(STORAGE, "manifests", id, "SOURCE.md"), "utf8");
    const commit = id === SNAPSHOTTER_ID ? SNAPSHOTTER.upstream.commit : STORAGE_DRIVERS[id]!.upstream.commit;
    expect(source).toContain(commit);
  });

  it.each(manifestEntries.map((e) => [e.id, e] as const))("%s: every listed file exists and every image it deploys is pinned by the catalog", (_, entry) => {
    if (entry.install.kind !== "manifests") return;
    const pinnedRefs = new Set(Object.values(entry.install.images));
    for (const { file, text } of driverManifests(entry, "/var/lib/kubelet")) {
      expect(existsSync(join(STORAGE, "manifests", entry.id, file)), file).toBe(true);
      const images = [...text.matchAll(/^\s*(?:-\s+)?image:\s*["']?([^\s"'#]+)/gm)].map((m) => m[1]!);
      expect(images.length, file).toBeGreaterThanOrEqual(file.startsWith("rbac-") || file.endsWith("driverinfo.yaml") || file === "namespace.yaml" ? 0 : 1);
      for (const image of images) expect(pinnedRefs.has(image), `${file}: ${image}`).toBe(true);
    }
  });

  it("the pins replace what the tags deploy where the tag is older than its name or untagged", () => {
    const pd = driverManifests(STORAGE_DRIVERS["gcp-pd"]!, "/var/lib/kubelet")[0]!.text;
    expect(pd).not.toContain("gcp-compute-persistent-disk-csi-driver:v1.17.4");
    expect(pd).toContain("image: registry.k8s.io/cloud-provider-gcp/gcp-compute-persistent-disk-csi-driver:v1.26.4");
    const plugin = driverManifests(STORAGE_DRIVERS["host-path"]!, "/var/lib/kubelet").find((m) => m.file === "csi-hostpath-plugin.yaml")!.text;
    expect(plugin).toContain("image: registry.k8s.io/sig-storage/hostpathplugin:v1.17.1");
    const localPath = driverManifests(STORAGE_DRIVERS["local-path"]!, "/var/lib/kubelet")[0]!.text;
    expect(localPath).toContain("image: docker.io/rancher/library-busybox:1.32.1");
    expect(localPath).not.toMatch(/image: docker\.io\/library\/busybox\s/);
    expect(withImages(vendoredManifest(SNAPSHOTTER_ID, "setup-snapshot-controller.yaml"), SNAPSHOTTER.images)).toContain("snapshot-controller:v8.5.0");
    expect(imageRepository("registry.example:5000/a/b:v1@sha256:00")).toBe("registry.example:5000/a/b");
  });

  // As applied to a cluster whose kubelet root moved (k0s): images pinned and paths rewritten, every document still valid.
  const documents = [
    ...manifestEntries.flatMap((e) => driverManifests(e, "/var/lib/k0s/kubelet").map((m) => ({ where: `${e.id}/${m.file}`, text: m.text }))),
    ...[...SNAPSHOTTER.crdFiles, ...SNAPSHOTTER.controllerFiles].map((file) => ({ where: `${SNAPSHOTTER_ID}/${file}`, text: vendoredManifest(SNAPSHOTTER_ID, file) })),
  ].flatMap(({ where, text }) =>
    loadAll(text)
      .filter((doc): doc is Record<string, unknown> => doc !== null && typeof doc === "object")
      .map((doc, i) => [`${where}#${i} ${String(doc.kind)}`, doc] as const),
  );

  it.each(documents)("%s validates against the Kubernetes OpenAPI schema (kubernetes-models 4.5.1)", async (_, doc) => {
    const [group, version] = String(doc.apiVersion).includes("/") ? String(doc.apiVersion).split("/") : ["", String(doc.apiVersion)];
    const module = (await import(`kubernetes-models/${group ? `${group}/` : ""}${version}/${String(doc.kind)}`)) as Record<string, new (data: unknown) => { validate(): void }>;
    const Model = module[String(doc.kind)]!;
    expect(() => new Model(doc).validate()).not.toThrow();
  });

  it("the snapshotter's CRDs are the six of snapshot.storage.k8s.io and groupsnapshot.storage.k8s.io, v1 served", () => {
    const crds = SNAPSHOTTER.crdFiles.map((file) => loadAll(vendoredManifest(SNAPSHOTTER_ID, file))[0] as { kind: string; spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; storage: boolean }[] } });
    expect(crds.map((c) => c.kind)).toEqual(Array(6).fill("CustomResourceDefinition"));
    expect(crds.map((c) => `${c.spec.group}/${c.spec.names.kind}`).sort()).toEqual([
      "groupsnapshot.storage.k8s.io/VolumeGroupSnapshot",
      "groupsnapshot.storage.k8s.io/VolumeGroupSnapshotClass",
      "groupsnapshot.storage.k8s.io/VolumeGroupSnapshotContent",
      "snapshot.storage.k8s.io/VolumeSnapshot",
      "snapshot.storage.k8s.io/VolumeSnapshotClass",
      "snapshot.storage.k8s.io/VolumeSnapshotContent",
    ]);
    for (const crd of crds) {
      expect(crd.spec.versions.find((v) => v.name === "v1")?.served, crd.spec.names.kind).toBe(true);
      expect(crd.spec.versions.filter((v) => v.storage)).toHaveLength(1);
    }
  });
});

describe("withKubeletDir", () => {
  it("moves every Linux path at or below /var/lib/kubelet and nothing else", () => {
    const input = [
      "- --kubelet-registration-path=/var/lib/kubelet/plugins/x/csi.sock",
      "  mountPath: /var/lib/kubelet",
      "  path: /var/lib/kubelet/pods",
      '  value: "/var/lib/kubelet/plugins_registry/"',
      "  path: /var/lib/kubelet-plugins",
      "  path: /opt/var/lib/kubelet",
      "  mountPath: C:\\var\\lib\\kubelet\\pods",
      "  path: \\var\\lib\\kubelet\\plugins",
      "  image: registry.k8s.io/var/lib/kubelet:v1",
    ].join("\n");
    expect(withKubeletDir(input, "/data/kubelet/")).toBe(
      [
        "- --kubelet-registration-path=/data/kubelet/plugins/x/csi.sock",
        "  mountPath: /data/kubelet",
        "  path: /data/kubelet/pods",
        '  value: "/data/kubelet/plugins_registry/"',
        "  path: /var/lib/kubelet-plugins",
        "  path: /opt/var/lib/kubelet",
        "  mountPath: C:\\var\\lib\\kubelet\\pods",
        "  path: \\var\\lib\\kubelet\\plugins",
        "  image: registry.k8s.io/var/lib/kubelet:v1",
      ].join("\n"),
    );
    expect(withKubeletDir(input, "/var/lib/kubelet")).toBe(input);
    expect(() => withKubeletDir(input, "data/kubelet")).toThrow('kubelet directory "data/kubelet" is not an absolute path');
  });

  it.each(manifestEntries.filter((e) => e.kubeletDir).map((e) => [e.id, e] as const))("%s's manifests keep no Linux /var/lib/kubelet after a move, and change only those paths", (_, entry) => {
    const moved = driverManifests(entry, "/srv/kubelet");
    driverManifests(entry, "/var/lib/kubelet").forEach(({ text: before }, i) => {
      const after = moved[i]!.text;
      expect(after).not.toMatch(/(?<![\w\\])\/var\/lib\/kubelet/);
      expect(after.replaceAll("/srv/kubelet", "/var/lib/kubelet")).toBe(before);
    });
  });
});

describe("EBS chart values", () => {
  it("the chart's defaults with kubeplug's values over them pass the chart's values.schema.json (draft 2019-09)", () => {
    const schema = JSON.parse(readFileSync(join(STORAGE, "values-schemas", "aws-ebs.schema.json"), "utf8")) as Record<string, unknown>;
    const defaults = loadAll(readFileSync(join(STORAGE, "values-schemas", "aws-ebs.values.yaml"), "utf8"))[0] as Record<string, Record<string, unknown>>;
    const ours = kubeplugChartValues(STORAGE_DRIVERS["aws-ebs"]!, "/data/kubelet") as Record<string, Record<string, unknown>>;
    expect(ours).toEqual({ node: { kubeletPath: "/data/kubelet" } });
    const merged = { ...defaults, node: { ...defaults.node, ...ours.node } };
    const validate = new Ajv2019({ strict: false, allErrors: true }).compile(schema);
    expect(validate(merged), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...merged, kubeletDir: "/x" })).toBe(false);
  });

  it("kubeplug's values for charts that bundle a snapshot controller turn it off, nested as Helm takes them", () => {
    expect(kubeplugChartValues(STORAGE_DRIVERS.nfs!, "/var/lib/kubelet")).toEqual({
      externalSnapshotter: { enabled: false, customResourceDefinitions: { enabled: false } },
      kubeletDir: "/var/lib/kubelet",
    });
    expect(kubeplugChartValues(STORAGE_DRIVERS["azure-disk"]!, "/k")).toEqual({ snapshot: { enabled: false }, linux: { kubelet: "/k" } });
  });
});

describe("StorageClass parameters", () => {
  it("an unknown key is refused with the driver's known keys", () => {
    expect(classProblems("aws-ebs", { type: "gp3", iopz: 3000 })).toEqual([
      `kubeplug:storage.classes.sc.parameters.iopz: AWS EBS CSI driver does not know the parameter "iopz"; did you mean "iops"? It takes: ${Object.keys(STORAGE_DRIVERS["aws-ebs"]!.parameters.shape).join(", ")}`,
    ]);
    expect(classProblems("nfs", { server: "10.0.0.1", exportPath: "/x" })[0]).toMatch(/NFS CSI driver does not know the parameter "exportPath"\. It takes: server, share, subDir, mountPermissions, onDelete, csi\.storage\.k8s\.io\/provisioner-secret-name/);
  });

  it("an unknown key that names a credential is refused as an inlined secret, without its value", () => {
    expect(classProblems("nfs", { server: "10.0.0.1", password: "hunter2" })).toEqual([
      `kubeplug:storage.classes.sc.parameters.password: "password" looks like a credential, and a StorageClass is readable by every user of the cluster: NFS CSI driver takes credentials only from Secrets. Put it in one and reference it with csi.storage.k8s.io/<call>-secret-name and csi.storage.k8s.io/<call>-secret-namespace (calls: provisioner)`,
    ]);
    expect(classProblems("host-path", { token: "t" })).toEqual([
      `kubeplug:storage.classes.sc.parameters.token: "token" looks like a credential, and a StorageClass is readable by every user of the cluster; CSI host path driver (dev clusters) takes no credentials from its StorageClasses (not even by Secret reference): remove it`,
    ]);
    // A typo of a known key is a typo, even when it reads like a credential.
    expect(classProblems("nfs", { server: "10.0.0.1", "csi.storage.k8s.io/provisioner-secret-nme": "s" })[0]).toMatch(/did you mean "csi\.storage\.k8s\.io\/provisioner-secret-name"\?/);
  });

  it.each([
    ["iops within gp3's range, as a number or a string", { type: "gp3", iops: 3000, throughput: "125" }],
    ["gp3's top IOPS and throughput", { type: "gp3", iops: "80000", throughput: 2000 }],
    ["io2 with iops", { type: "io2", iops: 64000 }],
    ["io1 with iopsPerGB", { type: "io1", iopsPerGB: 50 }],
    ["the default type (gp3)", { encrypted: true, kmsKeyId: "arn:aws:kms:eu-west-1:1:key/x", "csi.storage.k8s.io/fstype": "xfs" }],
  ])("EBS accepts %s", (_, parameters) => ok("aws-ebs", parameters));

  const at = "kubeplug:storage.classes.sc.parameters";
  it.each([
    [{ type: "gp3", iops: 2999 }, `${at}.iops: 2999 is outside gp3's 3000–80000 IOPS`],
    [{ type: "gp3", iops: 80001 }, `${at}.iops: 80001 is outside gp3's 3000–80000 IOPS`],
    [{ type: "gp3", iops: 300000 }, `${at}.iops: 300000 is outside gp3's 3000–80000 IOPS`],
    [{ type: "io1", iops: 50 }, `${at}.iops: 50 is outside io1's 100–64000 IOPS`],
    [{ type: "gp3", throughput: 124 }, `${at}.throughput: 124 must be at least 125 MiB/s`],
    [{ type: "gp3", throughput: "2001" }, `${at}.throughput: "2001" must be at most 2000 MiB/s`],
    [{ type: "io2" }, `${at}.type: "io2" volumes need provisioned IOPS: set iops or iopsPerGB (EC2 refuses an io2 volume without them; the driver does not check)`],
    [{ type: "io1", iops: 100, iopsPerGB: 10 }, `${at}.iopsPerGB: not with iops (100): the driver takes one or the other (pkg/cloud/cloud.go: "specify either IOPS or IOPSPerGb, not both")`],
    [{ type: "gp2", iops: 3000 }, `${at}.iops: type "gp2" has no provisioned IOPS; iops is for io1, io2 and gp3`],
    [{ type: "st1", throughput: 500 }, `${at}.throughput: throughput is a gp3 setting; type is "st1"`],
    [{ type: "gp4" }, `${at}.type: "gp4" is not one of: "gp3", "gp2", "io1", "io2", "sc1", "st1", "standard"; did you mean "gp3"?`],
    [{ iops: "3k" }, `${at}.iops: "3k" is not an integer`],
    [{ encrypted: "yes" }, `${at}.encrypted: "yes" is not a flag: write true or false (the driver reads only the exact strings "true" and "false")`],
    [{ kmsKeyId: "arn:aws:kms:x" }, `${at}.kmsKeyId: a KMS key encrypts only with encrypted: true (encrypted is not set)`],
    [{ ext4ClusterSize: 16384 }, `${at}.ext4ClusterSize: needs ext4BigAlloc: true (pkg/driver/controller.go: "Cannot set ext4BigAllocClusterSize when ext4BigAlloc is false")`],
  ])("EBS refuses %j", (parameters, message) => expect(classProblems("aws-ebs", parameters)).toEqual([message]));

  it("Ceph needs its cluster, pool and secrets; features must exist and bring their dependencies", () => {
    const secrets = Object.fromEntries(
      ["provisioner", "controller-expand", "node-stage"].flatMap((use) => [
        [`csi.storage.k8s.io/${use}-secret-name`, "csi-rbd-secret"],
        [`csi.storage.k8s.io/${use}-secret-namespace`, "ceph-csi"],
      ]),
    );
    ok("ceph-rbd", { clusterID: "c1", pool: "rbd", imageFeatures: "layering,exclusive-lock,object-map,fast-diff", ...secrets });
    expect(classProblems("ceph-rbd", { clusterID: "c1", imageFeatures: "layering,fast-diff,stripes", ...secrets })).toEqual([
      `${at}.pool: required unless topologyConstrainedPools is set (controllerserver.go: "empty pool name or topologyConstrainedPools")`,
      `${at}.imageFeatures: fast-diff needs object-map in imageFeatures`,
      `${at}.imageFeatures: "stripes" is not an RBD image feature: layering, journaling, exclusive-lock, object-map, fast-diff, deep-flatten`,
    ]);
    expect(classProblems("cephfs", { clusterID: "c1", fsName: "fs", "csi.storage.k8s.io/provisioner-secret-name": "s" })).toEqual([
      `${at}["csi.storage.k8s.io/provisioner-secret-namespace"]: required with csi.storage.k8s.io/provisioner-secret-name: external-provisioner takes a secret's name and namespace together`,
      `${at}["csi.storage.k8s.io/controller-expand-secret-name"]: required: the driver reads its controller-expand credentials from this Secret (set csi.storage.k8s.io/controller-expand-secret-name and csi.storage.k8s.io/controller-expand-secret-namespace)`,
      `${at}["csi.storage.k8s.io/node-stage-secret-name"]: required: the driver reads its node-stage credentials from this Secret (set csi.storage.k8s.io/node-stage-secret-name and csi.storage.k8s.io/node-stage-secret-namespace)`,
    ]);
  });

  it("NFS, SMB and local-path check what their code checks", () => {
    ok("nfs", { server: "nfs.example", share: "/exports", subDir: "${pvc.metadata.namespace}/${pvc.metadata.name}", mountPermissions: "0777", onDelete: "archive" });
    expect(classProblems("nfs", { share: "/exports", mountPermissions: "0999" })).toEqual([`${at}.server: required, expected a string`, `${at}.mountPermissions: "0999" is not octal permission bits such as "0777"`]);
    ok("smb", { source: "//smb.example/share", "csi.storage.k8s.io/node-stage-secret-name": "smbcreds", "csi.storage.k8s.io/node-stage-secret-namespace": "default" });
    expect(classProblems("smb", { source: "smb.example/share" })).toEqual([`${at}.source: "smb.example/share" is not a share such as //server/share`]);
    ok("local-path", { nodePath: "/mnt/disks", pathPattern: "{{ .PVC.Namespace }}/{{ .PVC.Name }}/data" });
    expect(classProblems("local-path", { pathPattern: "{{ .PVC.Name }}" })).toEqual([
      `${at}.pathPattern: "{{ .PVC.Name }}" must start with {{ .PVC.Namespace }}/{{ .PVC.Name }}/ (provisioner.go:333), or set allowUnsafePathPattern: true`,
    ]);
    ok("local-path", { pathPattern: "{{ .PVC.Name }}", allowUnsafePathPattern: "true" });
  });

  it("VolumeSnapshotClass parameters are strict too", () => {
    expect(classProblems("aws-ebs", { lockMode: "governance", lockDuration: 7 }, true)).toEqual([]);
    expect(classProblems("aws-ebs", { lockMode: "forever" }, true)).toEqual([
      `kubeplug:storage.snapshotClasses.snap.parameters.lockMode: "forever" is not one of: "governance", "compliance"`,
    ]);
    expect(classProblems("host-path", { kind: "fast" }, true)).toEqual([
      `kubeplug:storage.snapshotClasses.snap.parameters.kind: CSI host path driver (dev clusters) does not know the VolumeSnapshotClass parameter "kind". It takes no VolumeSnapshotClass parameters`,
    ]);
  });
});
