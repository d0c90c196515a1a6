import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodePrerequisites } from "../../src/catalog/storage/types";
import { buildNodeStep } from "../../src/components/node/step";
import { DriverPrerequisites, mergePrerequisites, storagePrepareStep } from "../../src/components/node/storage-prepare-steps";
import { startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";
import { finishBed, onNode, Scenarios, waitForFreeBridge } from "./harness/scenarios";
import { CommandRun } from "./harness/report";
import { installLibrary } from "./harness/run-step";

// Issue 12 (node prerequisites of CSI drivers) on a booted Debian node (systemd-nspawn); the step runs
// as its NodeStep's Command would (harness/run-step.ts), since no stack plans it yet:
//   packages   REAL bookworm nfs-common, cifs-utils, open-iscsi, multipath-tools (and their
//              dependencies) from the bed's mirror; their maintainer scripts, systemd units and helpers.
//   kernel     REAL, and lacking: this VM's kernel has no nfs, cifs, rbd or iSCSI support and cannot
//              load modules (no /proc/modules), so every module and filesystem is reported as skipped
//              and no volume can be mounted: nothing here proves a mount.
//   services   iscsid is enabled; it cannot run here (see its test). multipathd's unit skips containers.
const skip = testbedUnavailableReason();
const NODES = testbedNodes(1);
const NODE = { name: "node1", arch: "amd64" };
const PACKAGES = ["cifs-utils", "multipath-tools", "nfs-common", "open-iscsi"];
const INITIATOR = "/etc/iscsi/initiatorname.iscsi";
const IQN = /^iqn\.1993-08\.org\.debian:01:[0-9a-f]+$/;

const none: NodePrerequisites = { packages: [], modules: [], filesystems: [], services: [], iscsiInitiator: false };
const DRIVERS: DriverPrerequisites[] = [
  { driver: "nfs", prerequisites: { ...none, packages: ["nfs-common"], modules: ["nfs"], filesystems: ["nfs"] } },
  { driver: "smb", prerequisites: { ...none, packages: ["cifs-utils"], modules: ["cifs"], filesystems: ["cifs"] } },
  { driver: "iscsi", prerequisites: { packages: ["open-iscsi", "multipath-tools"], modules: ["iscsi_tcp"], filesystems: [], services: ["iscsid", "multipathd"], iscsiInitiator: true } },
  { driver: "ceph-rbd", prerequisites: { ...none, modules: ["rbd"] } },
  // TEST-ONLY: a driver that needs multipathd and nothing the kernel lacks, so multipathd is started
  // (and skipped by its own unit condition) rather than left alone because iscsi cannot mount here.
  { driver: "multipath-only", prerequisites: { ...none, packages: ["multipath-tools"], services: ["multipathd"] } },
];
const step = (extra: DriverPrerequisites[] = []) => storagePrepareStep(NODE, mergePrerequisites([...DRIVERS, ...extra]));

const lacking = (kind: string, name: string, driver: string) =>
  kind === "module"
    ? expect.stringMatching(new RegExp(`^kernel module ${name} \\(for ${driver}\\) not available: kernel \\S+ does not have it, and the kernel cannot load modules \\(no /proc/modules\\); volumes of ${driver} cannot be mounted on this node$`))
    : expect.stringMatching(new RegExp(`^filesystem ${name} \\(for ${driver}\\) not available: kernel \\S+ does not list it in /proc/filesystems, and the kernel cannot load modules \\(no /proc/modules\\); volumes of ${driver} cannot be mounted on this node$`));
const SKIPPED = [
  lacking("module", "cifs", "smb"),
  lacking("module", "iscsi_tcp", "iscsi"),
  lacking("module", "nfs", "nfs"),
  lacking("module", "rbd", "ceph-rbd"),
  lacking("filesystem", "cifs", "smb"),
  lacking("filesystem", "nfs", "nfs"),
  "service iscsid (for iscsi) not started: every driver that needs it lacks kernel support on this node (iscsi_tcp)",
  "service multipathd (for iscsi, multipath-only) not started: systemd skips it on this node, as its unit's ConditionVirtualization=!container is not met; volumes of iscsi, multipath-only that need it cannot be mounted here",
];

describe.skipIf(skip)(`storage-prepare on a real test node${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;
  let initiator = "";

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-storage-"));
    scenarios = new Scenarios(work);
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
  }, 900_000);

  afterAll(() => finishBed(bed, work, scenarios, "storage-prepare e2e figures"), 120_000);

  const on = (script: string) => onNode(bed!, "node1", script);
  const ok = (run: CommandRun) => expect({ status: run.status, stderr: run.stderr }).toEqual({ status: "ok", stderr: "" });
  const installed = () => on(`dpkg-query -W -f='\${Package} \${db:Status-Status}\\n' ${PACKAGES.join(" ")} 2>/dev/null | grep ' installed$' || true`);
  const nameOnNode = () => on(`sed -n 's/^InitiatorName=//p' ${INITIATOR}`);
  const fingerprint = () =>
    on(`stat -c '%n %Y %a' ${INITIATOR} /var/lib/dpkg/status /etc/systemd/system/sysinit.target.wants/iscsid.service /var/lib/kubeplug/owned/storage-prepare.list; sha256sum ${INITIATOR} /var/lib/dpkg/status; systemctl is-enabled iscsid multipathd`);
  /** Back to a node that never had the packages: purged with their dependencies, /etc/iscsi gone. */
  const purge = () => on(`systemctl disable iscsid >/dev/null 2>&1 || true; DEBIAN_FRONTEND=noninteractive apt-get -y -q purge ${PACKAGES.join(" ")} >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get -y -q autoremove --purge >/dev/null 2>&1; rm -rf /etc/iscsi; systemctl daemon-reload`);

  it("first run: packages installed from the mirror, mount.nfs and mount.cifs there, iscsid enabled, the name open-iscsi's postinst wrote kept, every kernel gap reported as skipped with its driver", async () => {
    expect(await installed()).toBe("");
    expect(await on(`test -e ${INITIATOR} && echo yes || echo no`)).toBe("no");
    const run = await scenarios.step("storage-prepare: fresh node", bed!, step());
    ok(run);
    expect(run.result).toEqual({ node: "node1", step: "storage-prepare", changed: [`package:${PACKAGES.join(" ")}`, "service:iscsid=enabled"], restarted: [], skipped: SKIPPED });
    expect(await installed()).toBe(PACKAGES.map((p) => `${p} installed`).join("\n"));
    expect(await on("/sbin/mount.nfs -V 2>&1; /sbin/mount.cifs -V 2>&1")).toBe("mount.nfs: (linux nfs-utils 2.6.2)\nmount.cifs version: 7.0");
    expect(await on("systemctl is-enabled iscsid; systemctl is-active iscsid || true")).toBe("enabled\ninactive");
    expect(await on("systemctl is-enabled multipathd; systemctl show -p ConditionResult --value multipathd")).toBe("enabled\nno");
    initiator = await nameOnNode();
    expect(initiator).toMatch(IQN);
    expect(run.stdout).toContain(`iSCSI initiator name ${initiator} kept (${INITIATOR}, for iscsi)`);
    expect(await on(`stat -c %a ${INITIATOR}; grep -c '^InitiatorName=' ${INITIATOR}`)).toBe("600\n1");
    console.log(`first run on node1: ${run.ms} ms, ${(await on("ls /var/cache/apt/archives/*.deb 2>/dev/null | wc -l"))} .debs fetched from the mirror; ${(await on("dpkg-query -W -f='${db:Status-Status}\\n' | grep -c '^installed$'"))} packages installed on the node in all`);
    scenarios.last().lost = "nothing";
  });

  it("second and third run: unchanged (no install, no write, no enable, no start), same mtimes, same initiator name, same skips", async () => {
    const before = await fingerprint();
    for (const round of ["second", "third"]) {
      const run = await scenarios.step(`storage-prepare: ${round} run`, bed!, step());
      ok(run);
      expect(run.result).toEqual({ node: "node1", step: "storage-prepare", changed: [], restarted: [], skipped: SKIPPED });
      expect(run.stdout).toMatch(/kubeplug\[node1\/storage-prepare\]: unchanged$/m);
      expect(run.stdout).toContain(`packages present: ${PACKAGES.join(" ")}`);
      expect(await fingerprint()).toBe(before);
      expect(await nameOnNode()).toBe(initiator);
      scenarios.last().lost = "nothing; 0 packages, 0 files, 0 units changed";
    }
  });

  it("iscsid cannot run on this node: it exits at once, as the kernel has no iSCSI netlink (NETLINK_ISCSI: Protocol not supported) and no iSCSI transport", async () => {
    const started = await on("systemctl start iscsid; sleep 1; systemctl is-active iscsid || true; systemctl show -p Result --value iscsid");
    // In the foreground, with iscsid.socket (which holds iscsid's IPC socket) stopped meanwhile.
    const why = await on("systemctl stop iscsid.socket; timeout 5 /sbin/iscsid -f -d 1 2>&1 | tail -n 4; echo exit=${PIPESTATUS[0]}; systemctl start iscsid.socket");
    console.log(`iscsid on node1: systemctl start -> ${started.replace(/\n/g, ", ")}; iscsid -f says:\n${why}`);
    // iscsid is Type=notify: which Result systemd records for the same failed start (exit-code, protocol,
    // timeout) depends on when it sees the exit; the cause is what iscsid says in the foreground, below.
    expect(started).toMatch(/^failed\n(exit-code|protocol|timeout)$/);
    expect(why).toContain("iscsid: can not create NETLINK_ISCSI socket [Protocol not supported]");
    expect(await on("test -e /sys/class/iscsi_transport && echo yes || echo no")).toBe("no");
    await on("systemctl reset-failed iscsid");
  });

  it("initiator name: a file without InitiatorName is given one once; a reinstall whose postinst writes none gets one; each is then kept", async () => {
    await on(`printf 'GenerateName=yes\\n' > ${INITIATOR}`);
    const placeholder = await scenarios.step("storage-prepare: GenerateName=yes placeholder", bed!, step());
    ok(placeholder);
    expect(placeholder.result!.changed).toEqual([INITIATOR]);
    expect(placeholder.stdout).toContain(`${INITIATOR} has no InitiatorName; writing one`);
    const written = await nameOnNode();
    expect(written).toMatch(IQN);
    expect(written).not.toBe(initiator);
    expect(await on(`grep -c GenerateName ${INITIATOR} || true; stat -c %a ${INITIATOR}`)).toBe("0\n600");
    const again = await scenarios.step("storage-prepare: after the placeholder", bed!, step());
    ok(again);
    expect(again.result!.changed).toEqual([]);
    expect(await nameOnNode()).toBe(written);

    // Removed, not purged: the reinstall's postinst gets the old version as $2 and writes no name.
    await on(`DEBIAN_FRONTEND=noninteractive apt-get -y -q remove open-iscsi >/dev/null 2>&1 && rm -f ${INITIATOR}`);
    const reinstall = await scenarios.step("storage-prepare: open-iscsi reinstalled, no name file", bed!, step());
    ok(reinstall);
    expect(reinstall.result!.changed).toEqual(["package:open-iscsi", INITIATOR]);
    const ours = await nameOnNode();
    expect(ours).toMatch(IQN);
    expect(reinstall.stdout).toContain(`set iSCSI initiator name ${ours} (for iscsi); kept from now on`);
    for (let i = 0; i < 2; i++) {
      const kept = await scenarios.step(`storage-prepare: name kept (${i + 1})`, bed!, step());
      ok(kept);
      expect(kept.result!.changed).toEqual([]);
      expect(await nameOnNode()).toBe(ours);
    }
    initiator = ours;
    scenarios.last().lost = "nothing";
  });

  it("a package the mirror does not have: fails naming it before anything is installed, on a node that lacks every package", async () => {
    await purge();
    const before = await on("sha256sum /var/lib/dpkg/status; ls /etc/iscsi 2>&1 || true; systemctl is-enabled iscsid 2>&1 || true");
    const run = await scenarios.step("storage-prepare: unknown package (refused)", bed!, step([{ driver: "broken", prerequisites: { ...none, packages: ["kubeplug-no-such-package"] } }]));
    expect(run.status).toBe("failed");
    expect(run.stderr).toBe(
      "kubeplug[node1/storage-prepare]: error: package(s) kubeplug-no-such-package not found in the node's apt sources (apt-cache policy has no candidate, after apt-get update); nothing was installed\n",
    );
    expect(await installed()).toBe("");
    expect(await on("sha256sum /var/lib/dpkg/status; ls /etc/iscsi 2>&1 || true; systemctl is-enabled iscsid 2>&1 || true")).toBe(before);
    scenarios.last().lost = "nothing (refused before apt-get install)";
  });

  it("a service that fails to start: fails naming node, service and the daemon's own words; the services it enabled are disabled and the initiator file it wrote is put back", async () => {
    await on(
      "printf '[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/bin/sh -c \"echo kubeplug test: no storage backend here >&2; exit 3\"\\n[Install]\\nWantedBy=multi-user.target\\n' > /etc/systemd/system/kubeplug-test-fail.service && systemctl daemon-reload",
    );
    try {
      const first = await scenarios.step("storage-prepare: reinstall after the purge", bed!, step());
      ok(first);
      await on(`systemctl disable iscsid 2>/dev/null; printf 'GenerateName=yes\\n' > ${INITIATOR}`);
      const before = await on(`sha256sum ${INITIATOR}; systemctl is-enabled iscsid kubeplug-test-fail || true`);
      const run = await scenarios.step("storage-prepare: service fails to start (rolled back)", bed!, step([{ driver: "test-fail", prerequisites: { ...none, services: ["kubeplug-test-fail"] } }]));
      expect(run.status).toBe("failed");
      expect(run.stderr).toBe("kubeplug[node1/storage-prepare]: error: service kubeplug-test-fail (for test-fail) did not start: kubeplug test: no storage backend here\n");
      expect(run.stdout).toContain("rolled back: disabled kubeplug-test-fail");
      expect(run.stdout).toContain("rolled back: disabled iscsid");
      expect(run.stdout).toContain(`restored previous ${INITIATOR}`);
      expect(await on(`sha256sum ${INITIATOR}; systemctl is-enabled iscsid kubeplug-test-fail || true`)).toBe(before);
    } finally {
      await on("systemctl reset-failed kubeplug-test-fail 2>/dev/null; rm -f /etc/systemd/system/kubeplug-test-fail.service; systemctl daemon-reload");
    }
    scenarios.last().lost = "nothing (rolled back)";
  });

  it("SIGKILL at every fault point (after the install, the initiator write, the enable): the next run finishes the job and keeps the name", async () => {
    const arm = (point: number) => on(`mkdir -p /run/kubeplug && rm -f /run/kubeplug/fault-fired && echo 'storage-prepare ${point} kill' > /run/kubeplug/fault-injection`);
    const points: string[] = [];
    try {
      for (let i = 1; i <= 10; i++) {
        // A node whose packages are gone and whose name file is a placeholder, so every point is reached.
        await purge();
        await on(`mkdir -p /etc/iscsi && printf 'GenerateName=yes\\n' > ${INITIATOR}`);
        await arm(i);
        const faulted = await scenarios.step(`storage-prepare: SIGKILL at point ${i}`, bed!, step());
        const what = await on("cat /run/kubeplug/fault-fired 2>/dev/null || echo none");
        if (what.startsWith("passed")) {
          ok(faulted);
          expect(what).toBe(`passed ${i - 1}`);
          break;
        }
        expect(what).toMatch(new RegExp(`^fired ${i} `));
        expect(faulted).toMatchObject({ status: "failed", exitCode: 137 });
        const nameAfterKill = await on(`sed -n 's/^InitiatorName=//p' ${INITIATOR} 2>/dev/null || true`);
        const again = await scenarios.step(`storage-prepare: re-run after the kill at point ${i}`, bed!, step());
        ok(again);
        expect(await installed()).toBe(PACKAGES.map((p) => `${p} installed`).join("\n"));
        expect(await on("systemctl is-enabled iscsid")).toBe("enabled");
        const name = await nameOnNode();
        expect(name).toMatch(IQN);
        if (nameAfterKill) expect(name).toBe(nameAfterKill);
        expect(await on("ls -d /run/kubeplug/stage.* 2>/dev/null | wc -l")).toBe("0");
        const converged = await scenarios.step(`storage-prepare: converged after the kill at point ${i}`, bed!, step());
        expect(converged.result!.changed).toEqual([]);
        points.push(what.replace(/^fired \d+ /, ""));
      }
    } finally {
      await on("rm -f /run/kubeplug/fault-injection");
    }
    expect(points).toEqual([`installed packages ${PACKAGES.join(" ")}`, `wrote ${INITIATOR}`, "enabled iscsid"]);
    scenarios.last().lost = `nothing; killed at ${points.length} points, each finished by the next run`;
  });

  it("power loss while dpkg unpacks (the step's whole session SIGKILLed): the next run replays dpkg's journal and finishes the install", async () => {
    await purge();
    await installLibrary(bed!, "node1");
    await onNode(bed!, "node1", "cat > /root/storage-prepare.sh", buildNodeStep(step()).script);
    // A unit of its own: its cgroup holds the step, apt-get, dpkg and the maintainer scripts (apt puts
    // dpkg in a session of its own), and systemctl kill SIGKILLs all of them at once, as a power loss stops them.
    const killed = await on(
      [
        "systemd-run --quiet --unit=kubeplug-powerloss --service-type=exec -p StandardOutput=file:/root/storage-prepare.out -p StandardError=inherit bash /root/storage-prepare.sh",
        "for i in $(seq 1 600); do pgrep -x dpkg >/dev/null && break; sleep 0.05; done",
        "sleep 0.5",
        "echo dpkg: $(pgrep -x dpkg | wc -l)",
        "systemctl kill --signal=KILL kubeplug-powerloss.service",
        "sleep 1",
        "echo left: $(systemctl show -p ActiveState --value kubeplug-powerloss.service) $(pgrep -x dpkg | wc -l)",
        "systemctl reset-failed kubeplug-powerloss.service 2>/dev/null || true",
      ].join("\n"),
    );
    console.log(`power loss on node1: ${killed.replace(/\n/g, "; ")}`);
    expect(killed).toMatch(/^dpkg: [1-9]\d*\nleft: (failed|inactive) 0$/);
    const broken = await on("ls /var/lib/dpkg/updates | wc -l; dpkg --audit | head -n 3 || true");
    console.log(`dpkg after the kill: ${broken.replace(/\n/g, " | ")}`);
    expect(broken === "0" || broken === "0\n").toBe(false);
    const run = await scenarios.step("storage-prepare: after a power loss in dpkg", bed!, step());
    ok(run);
    expect(run.stdout).toContain("dpkg was interrupted by an earlier run; finishing it (dpkg --configure -a)");
    expect(await installed()).toBe(PACKAGES.map((p) => `${p} installed`).join("\n"));
    expect(await on("dpkg --audit; ls /var/lib/dpkg/updates | wc -l")).toBe("0");
    expect(await on("/sbin/mount.nfs -V 2>&1; /sbin/mount.cifs -V 2>&1")).toBe("mount.nfs: (linux nfs-utils 2.6.2)\nmount.cifs version: 7.0");
    expect(await nameOnNode()).toMatch(IQN);
    const converged = await scenarios.step("storage-prepare: converged after the power loss", bed!, step());
    expect(converged.result!.changed).toEqual([]);
    await on("rm -f /root/storage-prepare.sh /root/storage-prepare.out");
    scenarios.last().lost = "nothing; the interrupted install was finished";
  });
});
