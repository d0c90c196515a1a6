import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NodePrerequisites } from "../../src/catalog/storage/types";
import { NODE_PREPARE_STEP } from "../../src/components/node/prepare-steps";
import { buildNodeStep } from "../../src/components/node/step";
import { ISCSI_INITIATOR_FILE, mergePrerequisites, STORAGE_PREPARE_STEP, storagePrepareStep } from "../../src/components/node/storage-prepare-steps";
import { inlineLibrary } from "../support/inline-library";
import { missingTools } from "../support/tools";

const none: NodePrerequisites = { packages: [], modules: [], filesystems: [], services: [], iscsiInitiator: false };
const NFS: NodePrerequisites = { ...none, packages: ["nfs-common"], modules: ["nfs"], filesystems: ["nfs"] };
const SMB: NodePrerequisites = { ...none, packages: ["cifs-utils"], modules: ["cifs"], filesystems: ["cifs"] };
const ISCSI: NodePrerequisites = { packages: ["open-iscsi", "multipath-tools"], modules: ["iscsi_tcp"], filesystems: [], services: ["iscsid", "multipathd"], iscsiInitiator: true };
const RBD: NodePrerequisites = { ...none, packages: ["nfs-common"], modules: ["rbd", "nbd"], services: ["multipathd"] };
const NODE = { name: "n1", arch: "amd64" };

const ALL = mergePrerequisites([
  { driver: "nfs", prerequisites: NFS },
  { driver: "smb", prerequisites: SMB },
  { driver: "iscsi", prerequisites: ISCSI },
  { driver: "ceph-rbd", prerequisites: RBD },
]);

describe("mergePrerequisites", () => {
  it("takes the union, each item once and sorted, with the sorted drivers that need it", () => {
    expect(ALL).toEqual({
      packages: [
        { name: "cifs-utils", drivers: ["smb"] },
        { name: "multipath-tools", drivers: ["iscsi"] },
        { name: "nfs-common", drivers: ["ceph-rbd", "nfs"] },
        { name: "open-iscsi", drivers: ["iscsi"] },
      ],
      modules: [
        { name: "cifs", drivers: ["smb"] },
        { name: "iscsi_tcp", drivers: ["iscsi"] },
        { name: "nbd", drivers: ["ceph-rbd"] },
        { name: "nfs", drivers: ["nfs"] },
        { name: "rbd", drivers: ["ceph-rbd"] },
      ],
      filesystems: [
        { name: "cifs", drivers: ["smb"] },
        { name: "nfs", drivers: ["nfs"] },
      ],
      services: [
        { name: "iscsid", drivers: ["iscsi"] },
        { name: "multipathd", drivers: ["ceph-rbd", "iscsi"] },
      ],
      iscsiInitiator: ["iscsi"],
    });
  });

  it("is the same whatever the order of the drivers, and names a module once in modprobe's _ form", () => {
    const a = mergePrerequisites([{ driver: "b", prerequisites: { ...none, modules: ["iscsi-tcp"] } }, { driver: "a", prerequisites: { ...none, modules: ["iscsi_tcp"], iscsiInitiator: true } }]);
    const b = mergePrerequisites([{ driver: "a", prerequisites: { ...none, modules: ["iscsi_tcp"], iscsiInitiator: true } }, { driver: "b", prerequisites: { ...none, modules: ["iscsi-tcp"] } }]);
    expect(a).toEqual(b);
    expect(a.modules).toEqual([{ name: "iscsi_tcp", drivers: ["a", "b"] }]);
    expect(mergePrerequisites([])).toEqual({ packages: [], modules: [], filesystems: [], services: [], iscsiInitiator: [] });
  });

  it.each([
    ["packages", { ...none, packages: ["nfs common"] }, 'storage driver "nfs": nodePrerequisites.packages entry "nfs common" does not match /^[a-z0-9][a-z0-9+.-]+$/'],
    ["modules", { ...none, modules: ["../rbd"] }, 'storage driver "nfs": nodePrerequisites.modules entry "../rbd" does not match /^[A-Za-z0-9_-]+$/'],
    ["services", { ...none, services: ["iscsid;reboot"] }, 'storage driver "nfs": nodePrerequisites.services entry "iscsid;reboot" does not match /^[A-Za-z0-9][A-Za-z0-9:_.@-]*$/'],
    ["packages with =", { ...none, packages: ["nfs-common=1:2.6"] }, 'storage driver "nfs": nodePrerequisites.packages entry "nfs-common=1:2.6" does not match /^[a-z0-9][a-z0-9+.-]+$/'],
  ])("refuses a catalog entry the script could not pass on safely (%s)", (_, prerequisites, message) => {
    expect(() => mergePrerequisites([{ driver: "nfs", prerequisites }])).toThrow(message);
  });
});

describe("storagePrepareStep", () => {
  const step = storagePrepareStep(NODE, ALL);

  it("is one install step after node-prepare, with a summary naming drivers, packages, modules, services and the initiator", () => {
    expect({ id: step.id, phase: step.phase, dependsOn: step.dependsOn, files: step.files }).toEqual({ id: STORAGE_PREPARE_STEP, phase: "install", dependsOn: [NODE_PREPARE_STEP], files: [] });
    expect(step.summary).toBe(
      "node prerequisites of ceph-rbd, iscsi, nfs, smb: packages cifs-utils, multipath-tools, nfs-common, open-iscsi; modules cifs, iscsi_tcp, nbd, nfs, rbd; filesystems cifs, nfs; services iscsid, multipathd; iSCSI initiator name (set once, then kept)",
    );
    expect(storagePrepareStep(NODE, mergePrerequisites([{ driver: "nfs", prerequisites: NFS }])).summary).toBe("node prerequisites of nfs: packages nfs-common; modules nfs; filesystems nfs; services none");
    expect(storagePrepareStep(NODE, mergePrerequisites([])).summary).toBe("no storage driver needs anything on this node");
  });

  it("renders the lists, who needs what, how to see built-in modules, the mount helpers and the initiator", () => {
    const script = buildNodeStep(step).script;
    for (const line of [
      "KP_PACKAGES=('cifs-utils' 'multipath-tools' 'nfs-common' 'open-iscsi')",
      "KP_MODULES=('cifs' 'iscsi_tcp' 'nbd' 'nfs' 'rbd')",
      "KP_FILESYSTEMS=('cifs' 'nfs')",
      "KP_SERVICES=('iscsid' 'multipathd')",
      "KP_NEEDED_BY=('package:cifs-utils=smb' 'package:multipath-tools=iscsi' 'package:nfs-common=ceph-rbd,nfs' 'package:open-iscsi=iscsi' 'module:cifs=smb' 'module:iscsi_tcp=iscsi' 'module:nbd=ceph-rbd' 'module:nfs=nfs' 'module:rbd=ceph-rbd' 'filesystem:cifs=smb' 'filesystem:nfs=nfs' 'service:iscsid=iscsi' 'service:multipathd=ceph-rbd,iscsi')",
      "KP_MODULE_EVIDENCE=('cifs=filesystem:cifs' 'iscsi_tcp=/sys/class/iscsi_transport/tcp' 'nbd=/sys/block/nbd0' 'nfs=filesystem:nfs' 'rbd=/sys/bus/rbd')",
      "KP_MOUNT_HELPERS=('cifs-utils=/sbin/mount.cifs' 'nfs-common=/sbin/mount.nfs')",
      "KP_ISCSI_INITIATOR='iscsi'",
      `KP_INITIATOR_FILE='${ISCSI_INITIATOR_FILE}'`,
    ]) {
      expect(script).toContain(`\n${line}\n`);
    }
    expect(script).toContain('\nsource "$KP_LIB/node/storage-prepare.sh"\n');
    expect(inlineLibrary(script)).toContain("# shellcheck shell=bash\n# What the CSI drivers' node plugins need on the host itself");
  });

  it("asks for no initiator and no helpers when no driver needs them", () => {
    const script = buildNodeStep(storagePrepareStep(NODE, mergePrerequisites([{ driver: "ceph-rbd", prerequisites: { ...none, modules: ["rbd"] } }]))).script;
    expect(script).toContain("\nKP_ISCSI_INITIATOR=''\n");
    expect(script).toContain("\nKP_MOUNT_HELPERS=()\n");
    expect(script).toContain("\nKP_PACKAGES=()\n");
  });
});

const skip = missingTools(["shellcheck"]);
describe.skipIf(skip)(`the rendered storage-prepare script passes shellcheck${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "kubeplug-storage-shellcheck-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["every prerequisite kind", ALL],
    ["nothing to do", mergePrerequisites([])],
  ])("%s", (_, merged) => {
    const file = join(dir, "storage-prepare.sh");
    writeFileSync(file, inlineLibrary(buildNodeStep(storagePrepareStep(NODE, merged)).script));
    expect(() => execFileSync("shellcheck", ["-S", "style", "-s", "bash", file], { encoding: "utf8" })).not.toThrow();
  });
});
