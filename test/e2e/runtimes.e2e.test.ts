import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";
import { crioBundle, CRIO_VERSION, kataFiles, kataRelease, KATA_VERSION, StandinRelease, youkiRelease, YOUKI_VERSION } from "./standins/artifacts";
import { command, failures, onNode, Scenarios, Stack, waitForFreeBridge, finishBed } from "./harness/scenarios";

// Issue "CRI-O, OCI runtimes": node-side installs on booted Debian nodes (systemd-nspawn), applied by the
// harness that runs the Pulumi program's own Command inputs over SSH, against STAND-IN release
// artifacts with the upstream names and layouts (test/e2e/standins/artifacts.ts), served by the bed's
// mirror with their own checksums in the stack's downloads.checksums:
//   node1  youki      stand-in youki-0.5.7-x86_64-gnu.tar.gz (youki is a script answering --version)
//   node2  Kata       stand-in kata-static-3.32.0-amd64.tar.zst (shim scripts, configuration-*.toml); the
//                     nodes have no /dev/kvm, and the install path uses a STAND-IN /dev/kvm (mknod)
//   node3  CRI-O      stand-in bundle cri-o.amd64.v1.36.3.tar.gz (crio, crictl, conmon, ... are scripts:
//                     test/e2e/standins/crio/); containers cannot start on these nodes anyway
const skip = testbedUnavailableReason();
const NODES = testbedNodes(3);
const PASSWORD = "e2e-Crio-Pa55-4be1d2";
const PASSWORD_2 = "e2e-Crio-Pa55-rotated-93ac0e";
const MIRROR_5000 = "http://10.231.0.1:5000";
const DOWNLOAD_CACHE = "/var/cache/kubeplug/downloads";

describe.skipIf(skip)(`CRI-O and OCI runtimes on real test nodes, from stand-in releases${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;
  let youki: StandinRelease;
  let kata: StandinRelease;
  let crio: StandinRelease;
  let password = PASSWORD;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-runtimes-"));
    [youki, kata, crio] = [await youkiRelease(), await kataRelease(), await crioBundle()];
    scenarios = new Scenarios(work, { mirrorPassword: PASSWORD, mirrorPasswordRotated: PASSWORD_2 });
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
  });

  afterAll(() => finishBed(bed, work, scenarios, "runtimes e2e figures"));

  const on = (node: string, script: string, input?: string) => onNode(bed!, node, script, input);

  /** A cluster of one pool and one node, downloading from the stand-ins. */
  function stack(node: string, pool: Record<string, unknown>): Stack {
    const spec = NODES.find((n) => n.name === node)!;
    return {
      config: {
        "kubeplug:cluster": {
          name: "runtimes",
          kubelet: { cgroupDriver: "systemd" },
          ssh: bed!.stackSsh,
          downloads: {
            baseUrls: { youki: youki.baseUrl, "kata-containers": kata.baseUrl, "cri-o": crio.baseUrl },
            checksums: { youki: youki.checksums, "kata-containers": kata.checksums, "cri-o": crio.checksums },
          },
          pools: [pool],
          nodes: [{ name: node, pool: pool.name, address: spec.address }],
        },
        "kubeplug:mirrorPassword": { secure: "v1:e2e" },
        "kubeplug:mirrorPasswordRotated": { secure: "v1:e2e" },
      },
    };
  }

  /** Every step ran and changed nothing, restarted nothing. */
  function expectNothingChanged(report: Awaited<ReturnType<Scenarios["apply"]>>) {
    expect(report.ok, failures(report)).toBe(true);
    for (const c of report.commands) {
      expect({ name: c.name, status: c.status, changed: c.result?.changed, restarted: c.result?.restarted }).toEqual({ name: c.name, status: "ok", changed: [], restarted: [] });
    }
  }

  // youki ---------------------------------------------------------------------------------------

  /** A containerd 2.1.9 pool named after the extra handler it runs next to runc. */
  const containerdPool = (name: string, handler: Record<string, unknown>) => ({
    name,
    labels: { "kubeplug.dev/pool": name },
    runtime: { kind: "containerd", version: "2.1.9", install: { from: "package" }, runtimes: { runc: { engine: "runc" }, [name]: handler } },
  });
  const youkiPool = () => containerdPool("youki", { engine: "youki", install: { from: "release", version: YOUKI_VERSION } });

  it(`youki (stand-in youki-${YOUKI_VERSION}-x86_64-gnu.tar.gz): installed at /usr/local/bin/youki and wired into containerd 2.1.9`, async () => {
    const report = await scenarios.apply("youki: fresh install (stand-in release)", stack("node1", youkiPool()));
    expect(report.ok, failures(report)).toBe(true);
    expect(command(report, "node1-oci-runtimes-install").result?.changed).toEqual(expect.arrayContaining(["/usr/local/bin/youki"]));

    expect(await on("node1", "stat -c '%a %U' /usr/local/bin/youki")).toBe("755 root");
    const standin = readFileSync(join(__dirname, "standins", "youki", "youki"));
    expect(await on("node1", "sha256sum /usr/local/bin/youki | cut -d' ' -f1")).toBe(fileSha256Of(standin));
    expect(await on("node1", "/usr/local/bin/youki --version | head -n1")).toBe(`youki version ${YOUKI_VERSION}`);
    // Only the binary: the tarball's README.md and LICENSE stay out of /usr/local/bin.
    // (crictl is crictl-install's, from the stand-in crictl tarball.)
    expect(await on("node1", "ls /usr/local/bin")).toBe("crictl\nyouki");
    // The download was verified and kept in the cache under its checksum.
    expect(await on("node1", `ls ${DOWNLOAD_CACHE} | grep -v crictl`)).toBe(`${youki.checksums[YOUKI_VERSION]!.amd64.slice(7)}-youki-${YOUKI_VERSION}-x86_64-gnu.tar.gz`);

    const dump = await on("node1", "containerd config dump");
    expect(dump).toMatch(/^version = 3$/m);
    const table = handlerTable(dump, "youki");
    expect(table).toContain("runtime_type = 'io.containerd.runc.v2'");
    expect(table).toContain("BinaryName = '/usr/local/bin/youki'");
    expect(table).toContain("SystemdCgroup = true");
    expect(handlerTable(dump, "runc")).toContain("BinaryName = '/usr/sbin/runc'");
    expect(await on("node1", "systemctl is-active containerd")).toBe("active");
    scenarios.last().lost = "nothing";
  });

  it("youki: a second apply, every step run again, changes nothing and restarts nothing", async () => {
    const before = await on("node1", "stat -c '%Y %a' /usr/local/bin/youki; sha256sum /etc/containerd/config.toml; systemctl show -p MainPID --value containerd");
    const report = await scenarios.apply("youki: second apply (all steps re-run)", stack("node1", youkiPool()));
    expectNothingChanged(report);
    expect(await on("node1", "stat -c '%Y %a' /usr/local/bin/youki; sha256sum /etc/containerd/config.toml; systemctl show -p MainPID --value containerd")).toBe(before);
    scenarios.last().lost = "nothing; 0 files written, 0 restarts";
  });

  // Kata ----------------------------------------------------------------------------------------

  const kataPool = () => containerdPool("kata", { engine: "kata", install: { from: "release", version: KATA_VERSION } });
  const KATA_PATHS = Object.keys(kataFiles()).map((path) => `/${path}`).sort();

  it(`Kata (stand-in kata-static-${KATA_VERSION}-amd64.tar.zst) on a node without /dev/kvm: oci-runtimes-install refuses, nothing installed`, async () => {
    expect((await bed!.ssh("node2", "test -e /dev/kvm")).code).not.toBe(0);
    const report = await scenarios.apply("kata: no /dev/kvm (refused)", stack("node2", kataPool()));
    const failed = command(report, "node2-oci-runtimes-install");
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(
      /^node2-oci-runtimes-install: process exited with status 1: .*kubeplug\[node2\/oci-runtimes-install\]: error: runtime handler\(s\) kata need hardware virtualization, but \/dev\/kvm is missing on this node .*; nothing was installed/,
    );
    expect(command(report, "node2-containerd-configure").status).toBe("skipped");
    // Nothing: no /opt/kata, and the tarball was not even downloaded (the check comes first).
    expect(await on("node2", "test ! -e /opt/kata && echo none")).toBe("none");
    expect(await on("node2", `ls -A ${DOWNLOAD_CACHE} 2>/dev/null | grep -c kata-static || true`)).toBe("0");
    scenarios.last().lost = "nothing (refused before any download or install)";
  });

  /**
   * A STAND-IN /dev/kvm: a char device 10:232 made from the host in the node's mount namespace.
   * Nothing opens it: kubeplug only tests that it is a char device.
   */
  async function standinKvm(present: boolean) {
    const node = bed!.nodes.find((n) => n.name === "node2")!;
    // No `mknod -m`: its chmod goes through /proc/self, which is not ours in the node's mount namespace.
    const args = present ? ["mknod", "/dev/kvm", "c", "10", "232"] : ["rm", "-f", "/dev/kvm"];
    execFileSync("nsenter", ["-t", String(node.initPid), "-m", "--", ...args]);
  }

  async function expectKataInstalled() {
    for (const [path, { content, mode }] of Object.entries(kataFiles())) {
      expect(await on("node2", `stat -c '%a' /${path}; sha256sum /${path} | cut -d' ' -f1`)).toBe(`${mode.toString(8)}\n${fileSha256Of(Buffer.from(content))}`);
    }
    expect(await on("node2", "/opt/kata/bin/containerd-shim-kata-v2 --version")).toContain(`version: ${KATA_VERSION}`);
    expect(await on("node2", "systemctl is-active containerd")).toBe("active");
  }

  it("Kata with a STAND-IN /dev/kvm, on a node as the bed boots it: kubeplug installs zstd and the whole stand-in tree under /opt/kata; a second apply changes nothing", async () => {
    await standinKvm(true);
    expect(await on("node2", "test -c /dev/kvm && echo char")).toBe("char");
    expect((await bed!.ssh("node2", "command -v zstd")).code).not.toBe(0);
    const report = await scenarios.apply("kata: stand-in /dev/kvm, node as booted", stack("node2", kataPool()));
    expect(report.ok, failures(report)).toBe(true);
    expect(command(report, "node2-oci-runtimes-install").result?.changed).toEqual(expect.arrayContaining(KATA_PATHS));
    expect(await on("node2", "command -v zstd")).toBe("/usr/bin/zstd");
    await expectKataInstalled();
    scenarios.last().lost = "nothing; zstd installed with the step's packages";

    const again = await scenarios.apply("kata: second apply (all steps re-run)", stack("node2", kataPool()));
    expectNothingChanged(again);
    scenarios.last().lost = "nothing; 0 files written, 0 restarts";
    await standinKvm(false);
  });

  // CRI-O ---------------------------------------------------------------------------------------

  const crioPool = (mirrors: string[] = [MIRROR_5000], passwordKey = "mirrorPassword") => ({
    name: "crio",
    labels: { "kubeplug.dev/pool": "crio" },
    runtime: {
      kind: "crio",
      version: CRIO_VERSION,
      install: { from: "release" },
      defaultRuntime: "crun",
      runtimes: {
        crun: { engine: "crun", install: { from: "bundle" } },
        runc: { engine: "runc", install: { from: "bundle" } },
      },
      registries: {
        hosts: {
          "docker.io": {
            mirrors: mirrors.map((url) => ({ url })),
            auth: { username: "puller", password: { from: "config", key: passwordKey } },
          },
        },
      },
    },
  });
  const crioState = () => join(work, "crio-state.json");
  const crioSnapshot = () =>
    on(
      "node3",
      "find /etc/crio /etc/containers /etc/crictl.yaml /usr/local/bin /usr/libexec/crio /etc/systemd/system/crio.service -type f ! -name '*.kubeplug.bak' -printf '%p %T@ %m\\n' | sort; systemctl show -p MainPID --value crio",
    );

  it(`CRI-O ${CRIO_VERSION} from the stand-in bundle cri-o.amd64.v${CRIO_VERSION}.tar.gz: installed, configured, crio.service active, credentials 0600`, async () => {
    const seen: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.push((await bed!.ssh("node3", "ps -eo args")).stdout);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const report = await scenarios.apply("crio: fresh install (stand-in bundle)", stack("node3", crioPool()), { stateFile: crioState() });
    watching = false;
    await watcher;
    expect(report.ok, failures(report)).toBe(true);
    expect(report.commands.map((c) => [c.name, c.status])).toEqual(["node-prepare", "oci-runtimes-install", "crio-install", "crio-configure"].map((s) => [`node3-${s}`, "ok"]));
    expect(command(report, "node3-crio-configure").result?.restarted).toEqual(["crio"]);

    // The bundle's binaries where its own installer puts them, and nothing else from it.
    expect(await on("node3", "stat -c '%n %a' /usr/local/bin/crio /usr/local/bin/pinns /usr/local/bin/crictl /usr/libexec/crio/conmon /usr/libexec/crio/conmonrs /usr/libexec/crio/crun /usr/libexec/crio/runc")).toBe(
      ["/usr/local/bin/crio", "/usr/local/bin/pinns", "/usr/local/bin/crictl", "/usr/libexec/crio/conmon", "/usr/libexec/crio/conmonrs", "/usr/libexec/crio/crun", "/usr/libexec/crio/runc"].map((p) => `${p} 755`).join("\n"),
    );
    expect(await on("node3", "crio --version | head -n1")).toBe(`crio version ${CRIO_VERSION}`);
    expect(await on("node3", "cat /etc/containers/policy.json")).toContain("insecureAcceptAnything");
    expect(await on("node3", "ls -A /etc/crio/crio.conf.d")).toBe("50-kubeplug.conf");
    expect(await on("node3", "ls -A /etc/containers/registries.conf.d")).toBe("50-kubeplug.conf");
    expect(await on("node3", "test ! -e /opt/cni/bin/bridge && test ! -e /etc/crio/policy.json && echo untouched")).toBe("untouched");

    // The unit is kubeplug's (bundle unit, prefix filled in), enabled and running the stand-in daemon.
    expect(await on("node3", "systemctl is-active crio; systemctl is-enabled crio")).toBe("active\nenabled");
    expect(await on("node3", "systemctl show -p ExecStart --value crio")).toContain("path=/usr/local/bin/crio");
    const mainPid = await on("node3", "systemctl show -p MainPID --value crio");
    expect(await on("node3", `cat /proc/${mainPid}/cmdline | tr '\\0' ' '`)).toBe("/bin/bash /usr/local/bin/crio");
    expect(await on("node3", "crictl --runtime-endpoint unix:///var/run/crio/crio.sock --timeout 5s version")).toContain("RuntimeVersion:  1.36.3");

    const dropIn = await on("node3", "cat /etc/crio/crio.conf.d/50-kubeplug.conf");
    expect(dropIn).toMatch(/^default_runtime = "crun"$/m);
    expect(dropIn).toMatch(/^\[crio\.runtime\.runtimes\.crun\]$/m);
    expect(dropIn).toMatch(/^global_auth_file = "\/etc\/containers\/auth\.json"$/m);
    expect(await on("node3", "cat /etc/containers/registries.conf.d/50-kubeplug.conf")).toMatch(/location = "10\.231\.0\.1:5000"/);
    expect(await on("node3", "cat /etc/crictl.yaml")).toContain("runtime-endpoint: unix:///var/run/crio/crio.sock");

    // Credentials: auth.json 0600, holding puller:<password>; nowhere else, never on a command line.
    expect(await on("node3", "stat -c '%a %U' /etc/containers/auth.json")).toBe("600 root");
    const auth = JSON.parse(await on("node3", "cat /etc/containers/auth.json"));
    expect(Buffer.from(auth.auths["docker.io"].auth, "base64").toString()).toBe(`puller:${PASSWORD}`);
    const encoded = Buffer.from(`puller:${PASSWORD}`).toString("base64");
    const holders = await on("node3", `grep -rlsF -e '${PASSWORD}' -e '${encoded}' /etc /var /run /tmp /root 2>/dev/null || true`);
    expect(holders.split("\n").filter(Boolean)).toEqual(["/etc/containers/auth.json"]);
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.join("\n")).not.toContain(PASSWORD);
    expect(await on("node3", `journalctl --no-pager -o cat | grep -cF -e '${PASSWORD}' -e '${encoded}' || true`)).toBe("0");
    scenarios.last().lost = "nothing";
  });

  it("CRI-O: a second apply, every step run again, writes nothing and keeps crio's PID", async () => {
    const before = await crioSnapshot();
    const report = await scenarios.apply("crio: second apply (all steps re-run)", stack("node3", crioPool()));
    expectNothingChanged(report);
    expect(await crioSnapshot()).toBe(before);
    scenarios.last().lost = "nothing; 0 files written, 0 restarts";
  });

  it("CRI-O: a new registry mirror rewrites only the registries drop-in and reloads crio (SIGHUP), no restart", async () => {
    const pid = await on("node3", "systemctl show -p MainPID --value crio");
    const report = await scenarios.apply("crio: mirror added (reload)", stack("node3", crioPool([MIRROR_5000, "http://10.231.0.1:5001"])), { stateFile: crioState() });
    expect(report.ok, failures(report)).toBe(true);
    expect(report.commands.filter((c) => c.status === "ok").map((c) => c.name)).toEqual(["node3-crio-configure"]);
    expect(command(report, "node3-crio-configure").result).toMatchObject({ changed: ["/etc/containers/registries.conf.d/50-kubeplug.conf"], restarted: ["crio:reload"] });
    expect(await on("node3", "systemctl show -p MainPID --value crio")).toBe(pid);
    expect(await on("node3", "cat /etc/containers/registries.conf.d/50-kubeplug.conf")).toMatch(/location = "10\.231\.0\.1:5001"/);
    expect(await on("node3", `journalctl -u crio --no-pager -o cat _PID=${pid} | grep -c 'Reloading configuration (SIGHUP)'`)).toBe("1");
    scenarios.last().lost = "nothing; 1 file, reload only (same MainPID)";
  });

  it("CRI-O: a rotated registry password rewrites only auth.json (0600) and reloads crio", async () => {
    const pid = await on("node3", "systemctl show -p MainPID --value crio");
    password = PASSWORD_2;
    const report = await scenarios.apply("crio: password rotated (reload)", stack("node3", crioPool([MIRROR_5000, "http://10.231.0.1:5001"], "mirrorPasswordRotated")), { stateFile: crioState() });
    expect(report.ok, failures(report)).toBe(true);
    expect(command(report, "node3-crio-configure").result).toMatchObject({ changed: ["/etc/containers/auth.json"], restarted: ["crio:reload"] });
    expect(await on("node3", "systemctl show -p MainPID --value crio")).toBe(pid);
    expect(await on("node3", "stat -c '%a %U' /etc/containers/auth.json")).toBe("600 root");
    const auth = JSON.parse(await on("node3", "cat /etc/containers/auth.json"));
    expect(Buffer.from(auth.auths["docker.io"].auth, "base64").toString()).toBe(`puller:${password}`);
    // A file holding credentials keeps no backup once the step succeeded: the old password is gone.
    const old = Buffer.from(`puller:${PASSWORD}`).toString("base64");
    expect(await on("node3", `grep -rlsF -e '${PASSWORD}' -e '${old}' /etc /var /run /tmp /root 2>/dev/null || true`)).toBe("");
    scenarios.last().lost = "nothing; 1 file, reload only (same MainPID)";
  });

  it("CRI-O: unit limits land as an owned drop-in and restart crio once; a second apply changes nothing", async () => {
    const limits = "/etc/systemd/system/crio.service.d/50-kubeplug-limits.conf";
    // PID 1 of a node inherits the test machine's hard limit on open files: ask for less.
    const hard = Number(await on("node3", "awk '/^Max open files/ { print $5 }' /proc/1/limits"));
    const nofile = Math.min(hard, 524288) - 1;
    const pool = crioPool([MIRROR_5000, "http://10.231.0.1:5001"], "mirrorPasswordRotated");
    Object.assign(pool.runtime, { serviceLimits: { LimitNOFILE: nofile } });
    const report = await scenarios.apply("crio: unit limits", stack("node3", pool), { stateFile: crioState() });
    expect(report.ok, failures(report)).toBe(true);
    expect(command(report, "node3-crio-configure").result).toMatchObject({ changed: [limits], restarted: ["crio"] });
    expect(await on("node3", "awk '/^Max open files/ { print $4 }' /proc/$(systemctl show -p MainPID --value crio)/limits")).toBe(String(nofile));
    const snapshot = () => Promise.all([crioSnapshot(), on("node3", `stat -c '%n %Y %a' ${limits}; sha256sum ${limits}`)]);
    const before = await snapshot();
    expectNothingChanged(await scenarios.apply("crio: unit limits, second apply (all steps re-run)", stack("node3", pool)));
    expect(await snapshot()).toEqual(before);
    scenarios.last().lost = `nothing; LimitNOFILE=${nofile} in effect; second run: 0 files written, 0 restarts`;
  });
});

function fileSha256Of(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The text of a handler's runtimes table and its subtables in a containerd 2.x config dump. */
function handlerTable(dump: string, handler: string): string {
  const lines = dump.split("\n");
  const header = (line: string) => /^\s*\[/.test(line);
  const inHandler = (line: string) => line.includes(`.runtimes.${handler}]`) || line.includes(`.runtimes.${handler}.`);
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (header(line)) inside = inHandler(line);
    if (inside) out.push(line.trim());
  }
  if (out.length === 0) throw new Error(`no runtimes.${handler} table in the config dump`);
  return out.join("\n");
}
