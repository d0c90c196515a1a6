import { z } from "zod";
import { parameterDoc, SNAPSHOTTER, STORAGE_DRIVERS } from "../../src/catalog/storage";
import { StorageDriverEntry } from "../../src/catalog/storage/types";

/** Written by hand: what the catalog cannot say about itself. */
const INTRO = [
  "kubeplug deploys each driver from a pinned upstream source: a released Helm chart version, or manifests vendored",
  "under src/catalog/storage/manifests/ at a tag, with every image pinned by tag (some tags deploy an older image than",
  "their name, or an untagged one). Every fact below was read in the driver's repository at the commit named; where the",
  "docs and the code disagree, the code wins and the entry's notes say so. StorageClass parameters are checked when",
  "kubeplug loads the stack: unknown keys are refused with the driver's known keys, values are typed, and rules that",
  "span keys are checked. A value is written as YAML gives it: integers as numbers or digit strings, flags as true/false",
  "or \"true\"/\"false\"; the StorageClass gets strings. Credentials are never parameters: classes name Secrets through the",
  "`csi.storage.k8s.io/*-secret-name` and `-namespace` keys.",
  "",
  "**What the tests here can prove.** The machine kubeplug is tested on runs a 6.18 VM kernel without loadable modules",
  "(no /lib/modules): /proc/filesystems lists no nfs, nfs4, cifs or ceph, and there is no iSCSI transport",
  "(/sys/class/iscsi_transport) and no rbd (/sys/bus/rbd). So no test mounts an NFS, SMB, iSCSI, RBD or CephFS volume.",
  "The tests check the catalog itself: pins, every vendored document against the Kubernetes OpenAPI schema, the",
  "snapshot CRDs, chart values against a chart's values.schema.json, and the parameter rules.",
];

/** Windows-only pieces kubeplug does not deploy while it has no Windows nodes. */
const OUT_OF_SCOPE = [
  ["CSI proxy (kubernetes-csi/csi-proxy)", "Windows nodes only: a host service through which CSI node plugins on Windows (Azure Disk/File, GCP PD, vSphere, SMB) reach the host's disks and SMB. Out of scope while kubeplug has no Windows nodes; the vendored GCP PD and vSphere manifests contain Windows DaemonSets that schedule only on Windows nodes."],
];

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");
const yes = (b: boolean) => (b ? "yes" : "no");
const list = (items: readonly string[]) => (items.length > 0 ? items.map((i) => `\`${i}\``).join(", ") : "none");

function installText(entry: StorageDriverEntry): string[] {
  const { install } = entry;
  switch (install.kind) {
    case "helm":
      return [
        `- Install: Helm chart \`${install.chart}\` **${install.version}** from \`${install.repo}\``,
        ...(install.valuesSchema ? [`- Chart values are checked against the chart's values.schema.json (vendored: src/catalog/storage/values-schemas/${install.valuesSchema})`] : []),
        ...Object.entries(install.images ?? {}).map(([repo, ref]) => `- Image pinned: \`${repo}\` → \`${ref}\``),
      ];
    case "manifests":
      return [
        `- Install: manifests vendored at ${entry.upstream.tag}: ${install.files.map((f) => `\`${f}\``).join(", ")} (src/catalog/storage/manifests/${entry.id}/)`,
        `- Images: ${Object.values(install.images).map((ref) => `\`${ref}\``).join(", ")}`,
      ];
    default: {
      const unknown: never = install;
      return unknown;
    }
  }
}

function parameterTable(schema: z.ZodObject): string[] {
  const rows = Object.entries(schema.shape).map(([key, field]) => {
    const doc = parameterDoc(field as z.ZodType);
    const required = !(field instanceof z.ZodOptional);
    return `| \`${key}\` | ${cell(doc.type)} | ${required ? "yes" : ""} | ${cell(doc.description)} |`;
  });
  if (rows.length === 0) return ["None."];
  return ["| key | type | required | description |", "|---|---|---|---|", ...rows];
}

function driverSection(entry: StorageDriverEntry): string[] {
  const caps = entry.capabilities;
  const pre = entry.nodePrerequisites;
  const kubelet = entry.kubeletDir
    ? "valuesPath" in entry.kubeletDir
      ? `chart value \`${entry.kubeletDir.valuesPath}\``
      : `the literal \`${entry.kubeletDir.manifestPath}\` in the manifests, rewritten`
    : "not used (no CSI node plugin)";
  const out = [
    `## ${entry.id}: ${entry.title}`,
    "",
    `- Provisioner: \`${entry.provisioner}\`${entry.csi ? "" : " (**not CSI**)"}`,
    `- Upstream: [${entry.upstream.repo}](https://github.com/${entry.upstream.repo}) ${entry.upstream.tag} (\`${entry.upstream.commit.slice(0, 12)}\`)`,
    ...installText(entry),
    `- Kubelet root: ${kubelet}`,
    ...(entry.bundledSnapshotterOff ? [`- Kept off (bundled snapshot controller/CRDs): ${Object.entries(entry.bundledSnapshotterOff).map(([k, v]) => `\`${k}: ${String(v)}\``).join(", ")}`] : []),
    `- Capabilities: expansion ${yes(caps.expansion)}, snapshots ${yes(caps.snapshots)}, raw block ${yes(caps.block)}; access modes ${list(caps.accessModes)}; topology keys ${list(caps.topologyKeys)}`,
    `- Node prerequisites: packages ${list(pre.packages)}; kernel modules ${list(pre.modules)}; filesystems ${list(pre.filesystems)}; services ${list(pre.services)}; iSCSI initiator name ${yes(pre.iscsiInitiator)}`,
    ...entry.notes.map((note) => `- ${note}`),
    "",
    "StorageClass parameters:",
    "",
    ...parameterTable(entry.parameters),
    "",
  ];
  if (entry.snapshotParameters) out.push("VolumeSnapshotClass parameters:", "", ...parameterTable(entry.snapshotParameters), "");
  return out;
}

/** docs/storage.md: every driver of the storage catalog, generated from src/catalog/storage. */
export function storageMarkdown(command: string): string {
  const entries = Object.values(STORAGE_DRIVERS);
  const out = [
    "# Storage drivers",
    "",
    `<!-- Generated by \`${command}\` from the catalog in src/catalog/storage; do not edit. -->`,
    "",
    ...INTRO,
    "",
    "| id | provisioner | CSI | source | expand | snapshots | block | RWX |",
    "|---|---|---|---|---|---|---|---|",
    ...entries.map((e) => {
      const source = e.install.kind === "helm" ? `chart ${e.install.chart} ${e.install.version}` : `manifests ${e.upstream.tag}`;
      return `| [${e.id}](#${e.id}-${e.title.toLowerCase().replace(/[^a-z0-9 -]/g, "").replaceAll(" ", "-")}) | \`${e.provisioner}\` | ${yes(e.csi)} | ${source} | ${yes(e.capabilities.expansion)} | ${yes(e.capabilities.snapshots)} | ${yes(e.capabilities.block)} | ${yes(e.capabilities.accessModes.includes("ReadWriteMany"))} |`;
    }),
    "",
    "## Snapshot CRDs and snapshot-controller",
    "",
    `Installed once per cluster when a stack has a VolumeSnapshotClass, from [${SNAPSHOTTER.upstream.repo}](https://github.com/${SNAPSHOTTER.upstream.repo}) ${SNAPSHOTTER.upstream.tag} (\`${SNAPSHOTTER.upstream.commit.slice(0, 12)}\`), vendored under src/catalog/storage/manifests/snapshot-controller/.`,
    "Charts that can bundle their own copy keep it off (see each driver).",
    "",
    `- CRDs: ${SNAPSHOTTER.crdFiles.map((f) => `\`${f}\``).join(", ")}`,
    `- Controller: ${SNAPSHOTTER.controllerFiles.map((f) => `\`${f}\``).join(", ")}`,
    `- Images: ${Object.values(SNAPSHOTTER.images).map((ref) => `\`${ref}\``).join(", ")} (what the tag's Deployment runs; the tag is newer than its image)`,
    "",
    "## Out of scope",
    "",
    "| component | why |",
    "|---|---|",
    ...OUT_OF_SCOPE.map(([what, why]) => `| ${what} | ${cell(why!)} |`),
    "",
    ...entries.flatMap(driverSection),
  ];
  return `${out.join("\n").trimEnd()}\n`;
}
