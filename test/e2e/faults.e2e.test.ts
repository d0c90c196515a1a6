import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerdReleaseChecksums, startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";
import { cniPluginsReleases, CNI_VERSIONS, crioBundle, CRIO_VERSION, StandinRelease, youkiRelease, YOUKI_VERSION } from "./standins/artifacts";
import { Applied, command, failures, finishBed, onNode, Scenarios, Stack, waitForFreeBridge } from "./harness/scenarios";

// Issue 10, "Faults on the node": on booted Debian nodes (systemd-nspawn), applied by the harness that
// runs the Pulumi program's own Command inputs over SSH.
//   node1  containerd 2.1.9 from the release tarball (the bed's stand-in, from Debian's build), CNI
//          plugins (stand-in release tarballs holding Debian's 1.1.1 and 1.9.1 binaries) and a conflist
//   node2  CRI-O 1.36.3 from the stand-in bundle (test/e2e/standins/crio: scripts; the daemon records
//          the sha256 of every file it read, at start and at SIGHUP, in /var/run/crio/standin-loaded)
//   node3  containerd 2.1.9 from the package, youki from the stand-in release (oci-runtimes-install)
//
// Faults:
//   SIGKILL   the prelude's TEST-ONLY hook (kp_fault_load in prelude.sh): the test writes
//             "STEP N kill" to /run/kubeplug/fault-injection and the step SIGKILLs itself at its Nth
//             fault point (after each file write, before each restart or reload). Each loop kills at
//             point 1, 2, ... until the step ends first; after each kill the next apply must leave the
//             daemon running the files on disk, and must remove the killed run's staging directory.
//   full disk a small tmpfs over the target directory inside the node, filled up.
//   rollback  a failure after the step's first install: a check that runs after the installs, a full
//             disk half-way through a set, or the hook's "fail" action.
const skip = testbedUnavailableReason();
const NODES = testbedNodes(3);
const PASSWORD = "e2e-Faults-Pa55-0c7d19";
const CONTAINERD = "2.1.9";
const BIN = "/opt/cni/bin";
const CONFLIST = "/etc/cni/net.d/10-kubeplug.conflist";
const WANTED = ["bandwidth", "bridge", "host-local", "loopback", "portmap", "tuning", "vlan"];
const YOUKI = "/usr/local/bin/youki";
const DROP_IN = "/etc/crio/crio.conf.d/50-kubeplug.conf";

describe.skipIf(skip)(`faults on real test nodes: SIGKILL, full disk, rollback, stale staging${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;
  let containerdSums: Record<string, { amd64: string }>;
  let cni: StandinRelease & { plugins: Record<string, Record<string, string>> };
  let crio: StandinRelease;
  let youki: StandinRelease;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-faults-"));
    scenarios = new Scenarios(work, { mirrorPassword: PASSWORD });
    [cni, crio, youki] = [await cniPluginsReleases(), await crioBundle(), await youkiRelease()];
    containerdSums = await containerdReleaseChecksums();
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
  });

  afterAll(() => finishBed(bed, work, scenarios, "fault e2e figures"));

  const on = (node: string, script: string) => onNode(bed!, node, script);
  const state = (node: string) => join(work, `${node}.state.json`);
  const fileSha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

  function cluster(node: string, pool: Record<string, unknown>, extra: Record<string, unknown> = {}): Stack {
    const spec = NODES.find((n) => n.name === node)!;
    return {
      config: {
        "kubeplug:cluster": {
          name: "faults",
          kubelet: { cgroupDriver: "systemd" },
          ssh: bed!.stackSsh,
          downloads: {
            baseUrls: { containerd: `${bed!.mirrorUrl}/releases/containerd`, "cni-plugins": cni.baseUrl, "cri-o": crio.baseUrl, youki: youki.baseUrl },
            checksums: { containerd: containerdSums, "cni-plugins": cni.checksums, "cri-o": crio.checksums, youki: youki.checksums },
          },
          pools: [pool],
          nodes: [{ name: node, pool: pool.name, address: spec.address, podCIDR: "10.244.1.0/24" }],
        },
        "kubeplug:mirrorPassword": { secure: "v1:e2e" },
        ...extra,
      },
    };
  }

  // node1: containerd from the release + CNI. `n1` is what node1 converged on last.
  type Node1 = { prefix: string; sandbox: string; port: number; cni: string; mtu: number };
  let n1: Node1 = { prefix: "/usr/local", sandbox: "registry.k8s.io/pause:3.10", port: 5000, cni: CNI_VERSIONS.old, mtu: 1500 };
  const node1 = (v: Node1): Stack =>
    cluster(
      "node1",
      {
        name: "rel",
        labels: { "kubeplug.dev/pool": "rel" },
        runtime: {
          kind: "containerd",
          version: CONTAINERD,
          install: { from: "release", prefix: v.prefix },
          sandboxImage: v.sandbox,
          registries: { hosts: { "docker.io": { mirrors: [{ url: `http://10.231.0.1:${v.port}`, capabilities: ["pull", "resolve"] }] } } },
        },
      },
      {
        "kubeplug:network": {
          podCIDR: "10.244.0.0/16",
          cni: {
            plugins: { install: { from: "release", version: v.cni }, wanted: WANTED },
            conflists: [{ name: "kubeplug", cniVersion: "1.0.0", plugins: [{ type: "bridge", bridge: "kp0", isGateway: true, mtu: v.mtu, ipam: { type: "host-local" } }, { type: "portmap", capabilities: { portMappings: true } }] }],
          },
        },
      },
    );

  // node2: CRI-O from the stand-in bundle.
  type Node2 = { prefix: string; defaultRuntime: "crun" | "runc"; port: number };
  let n2: Node2 = { prefix: "/usr/local", defaultRuntime: "crun", port: 5000 };
  const node2 = (v: Node2): Stack =>
    cluster("node2", {
      name: "crio",
      labels: { "kubeplug.dev/pool": "crio" },
      runtime: {
        kind: "crio",
        version: CRIO_VERSION,
        install: { from: "release", prefix: v.prefix },
        defaultRuntime: v.defaultRuntime,
        runtimes: { crun: { engine: "crun", install: { from: "bundle" } }, runc: { engine: "runc", install: { from: "bundle" } } },
        registries: { hosts: { "docker.io": { mirrors: [{ url: `http://10.231.0.1:${v.port}` }], auth: { username: "puller", password: { from: "config", key: "mirrorPassword" } } } } },
      },
    });

  // node3: youki next to runc, with containerd from the package; `broken` adds a handler whose
  // preinstalled binary is missing, which oci-runtimes-install finds only after its installs.
  const node3 = (broken = false): Stack =>
    cluster("node3", {
      name: "youki",
      labels: { "kubeplug.dev/pool": "youki" },
      runtime: {
        kind: "containerd",
        version: CONTAINERD,
        install: { from: "package" },
        runtimes: {
          runc: { engine: "runc" },
          youki: { engine: "youki", install: { from: "release", version: YOUKI_VERSION } },
          ...(broken ? { broken: { engine: "runc", install: { from: "preinstalled", path: "/opt/missing/runc" } } } : {}),
        },
      },
    });

  const apply = (scenario: string, stack: Stack, node: string) => scenarios.apply(scenario, stack, { stateFile: state(node) });
  const expectOk = (report: Applied) => expect(report.ok, failures(report)).toBe(true);

  // What the daemon runs, against what is on disk ------------------------------------------------

  /**
   * The unit is active and systemd has its unit file as on disk; the daemon's binary (its executable,
   * or for the stand-in crio script the file bash has open) is the file `binary` names now; and it
   * started after the last write of every file in `configs` (process start from /proc, 10 ms ticks).
   */
  async function daemonState(node: string, unit: string, binary: string, configs: string[]): Promise<Record<string, string>> {
    const out = await on(
      node,
      [
        `pid=$(systemctl show -p MainPID --value ${unit})`,
        `echo "active=$(systemctl is-active ${unit})"`,
        `echo "needDaemonReload=$(systemctl show -p NeedDaemonReload --value ${unit})"`,
        `want=$(stat -c %d:%i ${binary}); binary=stale`,
        `[ "$(stat -L -c %d:%i /proc/$pid/exe)" != "$want" ] || binary="on disk"`,
        `for fd in /proc/$pid/fd/*; do [ "$(stat -L -c %d:%i "$fd" 2>/dev/null)" != "$want" ] || binary="on disk"; done`,
        `echo "binary=$binary"`,
        `now=$(date +%s.%N); up=$(cut -d' ' -f1 /proc/uptime); hz=$(getconf CLK_TCK); st=$(awk '{print $22}' /proc/$pid/stat)`,
        ...configs.map(
          (f) =>
            `echo "${f}=$(awk -v now=$now -v up=$up -v hz=$hz -v st=$st -v m=$(stat -c %.9Y ${f}) 'BEGIN { s = now - up + st / hz; if (s >= m - 0.05) print "read after its last write"; else printf "written %.1f s after the daemon started\\n", m - s }')"`,
        ),
      ].join("\n"),
    );
    return Object.fromEntries(out.split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
  }

  const onDisk = (configs: string[]) => ({ active: "active", needDaemonReload: "no", binary: "on disk", ...Object.fromEntries(configs.map((f) => [f, "read after its last write"])) });

  async function expectContainerdOnDisk(v: Node1) {
    const configs = ["/etc/containerd/config.toml"];
    expect(await daemonState("node1", "containerd", `${v.prefix}/bin/containerd`, configs)).toEqual(onDisk(configs));
    expect(await on("node1", "containerd config dump | grep -E '^ *(sandbox|sandbox_image) = '")).toContain(v.sandbox);
    expect(await on("node1", "cat /etc/containerd/certs.d/docker.io/hosts.toml")).toContain(`:${v.port}"`);
    expect(await on("node1", "find /etc/containerd -name '*.kubeplug.new' | wc -l")).toBe("0");
  }

  /** The files the stand-in crio reads, hashed as it records them (see test/e2e/standins/crio/crio). */
  const CRIO_FILES =
    "{ [ ! -f /etc/crio/crio.conf ] || echo /etc/crio/crio.conf; find /etc/crio/crio.conf.d -type f | LC_ALL=C sort; find /etc/containers/registries.conf.d -maxdepth 1 -type f -name '*.conf' | LC_ALL=C sort; [ ! -f /etc/containers/auth.json ] || echo /etc/containers/auth.json; } | while IFS= read -r f; do sha256sum \"$f\"; done";

  async function expectCrioOnDisk(v: Node2) {
    const configs = [DROP_IN];
    expect(await daemonState("node2", "crio", `${v.prefix}/bin/crio`, configs)).toEqual(onDisk(configs));
    // What the daemon read (at its start or its last SIGHUP) is what is on disk now, file by file.
    expect(await on("node2", "cat /var/run/crio/standin-loaded")).toBe(await on("node2", CRIO_FILES));
    // CRI-O reads every file in crio.conf.d: nothing of kubeplug's but the drop-in may be there.
    expect(await on("node2", "ls -A /etc/crio/crio.conf.d")).toBe("50-kubeplug.conf");
    expect(await on("node2", "cat /etc/containers/registries.conf.d/50-kubeplug.conf")).toContain(`10.231.0.1:${v.port}`);
    expect(await on("node2", `grep '^default_runtime' ${DROP_IN}`)).toBe(`default_runtime = "${v.defaultRuntime}"`);
  }

  async function binDir(node: string): Promise<Record<string, string>> {
    const out = await on(node, `cd ${BIN} && for f in *; do printf '%s %s\\n' "$f" "$(sha256sum "$f" | cut -d' ' -f1)"; done`);
    return Object.fromEntries(out.split("\n").map((line) => line.split(" ") as [string, string]));
  }

  async function expectPlugins(version: string) {
    const want = Object.fromEntries(WANTED.map((p) => [p, fileSha(cni.plugins[version]![p]!)]));
    const bin = await binDir("node1");
    expect(Object.fromEntries(WANTED.map((p) => [p, bin[p]]))).toEqual(want);
    expect(Object.keys(bin).filter((f) => f.endsWith(".kubeplug.new"))).toEqual([]);
  }

  /** What is in /etc/cni/net.d besides kubeplug's backups (which the runtimes ignore: not *.conf, *.conflist, *.json). */
  const lists = () => on("node1", "ls -A /etc/cni/net.d | grep -v '[.]kubeplug[.]bak$'");
  const expectMtu = async (mtu: number) => expect(JSON.parse(await on("node1", `cat ${CONFLIST}`)).plugins[0].mtu).toBe(mtu);

  // The fault hook ---------------------------------------------------------------------------------

  const arm = (node: string, step: string, point: number, action: "kill" | "fail") =>
    on(node, `mkdir -p /run/kubeplug && rm -f /run/kubeplug/fault-fired && echo '${step} ${point} ${action}' > /run/kubeplug/fault-injection`);
  const fired = (node: string) => on(node, "cat /run/kubeplug/fault-fired 2>/dev/null || echo none");
  const stages = (node: string) => on(node, "ls -d /run/kubeplug/stage.* 2>/dev/null | wc -l");

  /**
   * SIGKILLs `step` at its fault point 1, 2, ... (a fresh change each time, `variant(i)`), until the
   * step ends before the point. After each kill the next apply succeeds and `check(i)` shows the node
   * on variant i, and the killed run's staging directory has been removed by the next step on the
   * node (saying so). Returns the points.
   */
  async function killAtEachPoint(
    label: string,
    node: string,
    step: string,
    variant: (i: number) => Stack,
    check: (i: number) => Promise<void>,
    options: { stateless?: boolean; prepare?: () => Promise<void> } = {},
  ): Promise<string[]> {
    const run = (scenario: string, stack: Stack) => (options.stateless ? scenarios.apply(scenario, stack) : apply(scenario, stack, node));
    const points: string[] = [];
    try {
      for (let i = 1; i <= 30; i++) {
        await options.prepare?.();
        await arm(node, step, i, "kill");
        const faulted = await run(`${label}: SIGKILL at point ${i}`, variant(i));
        const what = await fired(node);
        if (what.startsWith("passed")) {
          expectOk(faulted);
          expect(what).toBe(`passed ${i - 1}`);
          await check(i);
          return points;
        }
        expect(what).toMatch(new RegExp(`^fired ${i} `));
        const killed = command(faulted, `${node}-${step}`);
        expect({ status: killed.status, exitCode: killed.exitCode }).toEqual({ status: "failed", exitCode: 137 });
        // The killed run's stage is left until the next step on the node takes the lock: in this
        // apply already when another step of the node runs after the kill, else in the next one.
        const removedStage = /removed \/run\/kubeplug\/stage\.\w+ \(left by a step that was killed\)/;
        const stdoutOf = (report: Applied) => report.commands.filter((c) => c.node === node).map((c) => c.stdout).join("\n");
        const leftAfterKill = Number(await stages(node));
        if (leftAfterKill === 0) expect(stdoutOf(faulted)).toMatch(removedStage);

        const again = await run(`${label}: re-run after the kill at point ${i}`, variant(i));
        expectOk(again);
        await check(i);
        if (leftAfterKill > 0) expect(stdoutOf(again)).toMatch(removedStage);
        expect(await stages(node)).toBe("0");
        points.push(what.replace(/^fired \d+ /, ""));
      }
    } finally {
      await on(node, "rm -f /run/kubeplug/fault-injection");
    }
    throw new Error(`${node}/${step} still had fault points after 30`);
  }

  // Tests ----------------------------------------------------------------------------------------------

  it("fresh install: containerd from the release and CNI on node1, CRI-O on node2, youki on node3", async () => {
    // One after the other: Scenarios names each stack file after the number of applies so far.
    expectOk(await apply("fresh install (node1)", node1(n1), "node1"));
    expectOk(await apply("fresh install (node2)", node2(n2), "node2"));
    expectOk(await apply("fresh install (node3)", node3(), "node3"));
    await expectContainerdOnDisk(n1);
    await expectPlugins(n1.cni);
    await expectCrioOnDisk(n2);
    expect(await on("node3", `${YOUKI} --version | head -n1`)).toBe(`youki version ${YOUKI_VERSION}`);
    for (const f of scenarios.figures) f.lost = "nothing";
  });

  it("SIGKILL at each fault point of containerd-configure (config.toml, hosts.toml, before the restart): the next run leaves containerd on the config on disk", async () => {
    let points: string[] = [];
    await scenarios.group("fault: SIGKILL at each point of containerd-configure, then re-run (node1)", async () => {
      const variant = (i: number): Node1 => ({ ...n1, sandbox: `registry.k8s.io/pause:3.${i}`, port: 5100 + i });
      points = await killAtEachPoint("containerd-configure", "node1", "containerd-configure", (i) => node1(variant(i)), async (i) => {
        await expectContainerdOnDisk(variant(i));
        n1 = variant(i);
      });
      return `nothing: after each of ${points.length} kills the re-run restarted containerd onto the config on disk`;
    });
    expect(points).toEqual(["wrote /etc/containerd/config.toml", "wrote /etc/containerd/certs.d/docker.io/hosts.toml", "before restart containerd"]);
  });

  it("SIGKILL at each fault point of containerd-install from the release (binaries, unit, before the restart): the next run leaves containerd running the binary and unit on disk", async () => {
    let points: string[] = [];
    await scenarios.group("fault: SIGKILL at each point of containerd-install (release), then re-run (node1)", async () => {
      // A new install prefix each time: every binary and the unit change, and containerd must move.
      // (containerd on PATH stays the fresh install's /usr/local/bin one, of the same version.)
      const variant = (i: number): Node1 => ({ ...n1, prefix: `/opt/kp-containerd-${i}` });
      points = await killAtEachPoint("containerd-install", "node1", "containerd-install", (i) => node1(variant(i)), async (i) => {
        await expectContainerdOnDisk(variant(i));
        n1 = variant(i);
      });
      return `nothing: after each of ${points.length} kills the re-run left containerd on the binary and unit on disk`;
    });
    expect(points.map((p) => p.replace(/\/opt\/kp-containerd-\d+/, "<prefix>"))).toEqual([
      "wrote <prefix>/bin/containerd",
      "wrote <prefix>/bin/containerd-shim-runc-v2",
      "wrote <prefix>/bin/ctr",
      "wrote /etc/systemd/system/containerd.service",
      "before restart containerd",
    ]);
  });

  it("SIGKILL at each fault point of crio-configure with a drop-in change (drop-in, registries, before the restart): the next run leaves CRI-O on the files on disk", async () => {
    let points: string[] = [];
    await scenarios.group("fault: SIGKILL at each point of crio-configure (restart), then re-run (node2)", async () => {
      const variant = (i: number): Node2 => ({ ...n2, defaultRuntime: i % 2 === 1 ? "runc" : "crun", port: 5200 + i });
      points = await killAtEachPoint("crio-configure", "node2", "crio-configure", (i) => node2(variant(i)), async (i) => {
        await expectCrioOnDisk(variant(i));
        n2 = variant(i);
      });
      return `nothing: after each of ${points.length} kills the re-run restarted CRI-O, which read every file on disk`;
    });
    expect(points).toEqual([`wrote ${DROP_IN}`, "wrote /etc/containers/registries.conf.d/50-kubeplug.conf", "before restart crio"]);
  });

  it("SIGKILL at each fault point of crio-configure with a registries change (registries, before the reload): the next run reloads CRI-O", async () => {
    let points: string[] = [];
    await scenarios.group("fault: SIGKILL at each point of crio-configure (reload), then re-run (node2)", async () => {
      const variant = (i: number): Node2 => ({ ...n2, port: 5300 + i });
      points = await killAtEachPoint("crio-configure reload", "node2", "crio-configure", (i) => node2(variant(i)), async (i) => {
        await expectCrioOnDisk(variant(i));
        n2 = variant(i);
      });
      return `nothing: after each of ${points.length} kills the re-run reloaded CRI-O, which read the registries on disk`;
    });
    expect(points).toEqual(["wrote /etc/containers/registries.conf.d/50-kubeplug.conf", "before reload crio"]);
  });

  it("SIGKILL at each fault point of crio-install from the bundle (binaries, unit, before the restart): the next run leaves CRI-O running the files on disk", async () => {
    let points: string[] = [];
    await scenarios.group("fault: SIGKILL at each point of crio-install (bundle), then re-run (node2)", async () => {
      // A new prefix each time (crio and crictl on PATH stay the fresh install's, of the same version).
      const variant = (i: number): Node2 => ({ ...n2, prefix: `/opt/kp-crio-${i}` });
      points = await killAtEachPoint("crio-install", "node2", "crio-install", (i) => node2(variant(i)), async (i) => {
        await expectCrioOnDisk(variant(i));
        n2 = variant(i);
      });
      return `nothing: after each of ${points.length} kills the re-run left CRI-O on the binary and unit on disk`;
    });
    expect(points.map((p) => p.replace(/\/opt\/kp-crio-\d+/, "<prefix>"))).toEqual([
      "wrote <prefix>/bin/crio",
      "wrote <prefix>/bin/pinns",
      "wrote <prefix>/bin/crictl",
      "wrote /etc/systemd/system/crio.service",
      "before restart crio",
    ]);
  });

  it("SIGKILL after each plugin binary cni-plugins-install writes: the next run finishes the set", async () => {
    let points: string[] = [];
    await scenarios.group("fault: SIGKILL at each point of cni-plugins-install, then re-run (node1)", async () => {
      const variant = (i: number): Node1 => ({ ...n1, cni: i % 2 === 1 ? CNI_VERSIONS.new : CNI_VERSIONS.old });
      points = await killAtEachPoint("cni-plugins-install", "node1", "cni-plugins-install", (i) => node1(variant(i)), async (i) => {
        await expectPlugins(variant(i).cni);
        n1 = variant(i);
      });
      return `nothing: after each of ${points.length} kills the re-run installed the whole set`;
    });
    expect(points).toEqual(WANTED.map((p) => `wrote ${BIN}/${p}`));
  });

  it("SIGKILL after cni-conflist writes its list: the next run converges", async () => {
    let points: string[] = [];
    await scenarios.group("fault: SIGKILL at each point of cni-conflist, then re-run (node1)", async () => {
      const variant = (i: number): Node1 => ({ ...n1, mtu: 1400 + i });
      points = await killAtEachPoint("cni-conflist", "node1", "cni-conflist", (i) => node1(variant(i)), async (i) => {
        await expectMtu(variant(i).mtu);
        expect(await lists()).toBe("10-kubeplug.conflist");
        n1 = variant(i);
      });
      return "nothing: the re-run after the kill left the list on disk as rendered";
    });
    expect(points).toEqual([`wrote ${CONFLIST}`]);
  });

  it("SIGKILL after oci-runtimes-install writes youki: the next run converges", async () => {
    const standin = await on("node3", `sha256sum ${YOUKI} | cut -d' ' -f1`);
    let points: string[] = [];
    await scenarios.group("fault: SIGKILL at each point of oci-runtimes-install, then re-run (node3)", async () => {
      const plant = () => on("node3", `printf '#!/bin/sh\\necho "youki version ${YOUKI_VERSION} (an earlier build)"\\n' > ${YOUKI}`);
      // The stack does not change, so every step runs (no state file); an earlier build of youki on
      // the node before each run gives oci-runtimes-install its write.
      points = await killAtEachPoint(
        "oci-runtimes-install",
        "node3",
        "oci-runtimes-install",
        () => node3(),
        async () => {
          expect(await on("node3", `sha256sum ${YOUKI} | cut -d' ' -f1; ls -A /usr/local/bin | grep -v -e '[.]kubeplug[.]bak$' -e '^crictl$'`)).toBe(`${standin}\nyouki`);
        },
        { stateless: true, prepare: async () => void (await plant()) },
      );
      return "nothing: the re-run after the kill left youki on disk as released";
    });
    expect(points).toEqual([`wrote ${YOUKI}`]);
  });

  // Full disk --------------------------------------------------------------------------------------

  /** Runs `body` with a tmpfs over `dir` in node1 holding a copy of `dir`, filled but for `room` bytes. */
  async function withFullDir<T>(dir: string, room: number, body: () => Promise<T>): Promise<T> {
    const copy = `/root/kp-full${dir.replace(/\//g, "-")}`;
    await on("node1", `rm -rf ${copy} && mkdir -p ${copy} && cp -a ${dir}/. ${copy}/ && mount -t tmpfs -o size=64m kp-full ${dir} && cp -a ${copy}/. ${dir}/`);
    try {
      const avail = Number(await on("node1", `df -B1 --output=avail ${dir} | tail -n1`));
      await on("node1", `fallocate -l ${Math.max(avail - room, 0)} ${dir}/.kp-fill 2>/dev/null || dd if=/dev/zero of=${dir}/.kp-fill bs=4k 2>/dev/null || true; sync`);
      return await body();
    } finally {
      await on("node1", `umount ${dir} && rm -rf ${copy}`);
    }
  }

  it("full disk under /etc/containerd: containerd-configure fails naming the node, the path and the cause; config.toml and containerd are untouched", async () => {
    await scenarios.group("fault: full /etc/containerd (tmpfs), config.toml change (node1)", async () => {
      const next: Node1 = { ...n1, sandbox: "registry.k8s.io/pause:3.99" };
      const before = await on("node1", "sha256sum /etc/containerd/config.toml; systemctl show -p MainPID --value containerd");
      await withFullDir("/etc/containerd", 0, async () => {
        const report = await apply("full /etc/containerd", node1(next), "node1");
        const failed = command(report, "node1-containerd-configure");
        expect(failed.status).toBe("failed");
        expect(failed.error).toMatch(/kubeplug\[node1\/containerd-configure\]: error: cannot write \/etc\/containerd\/config\.toml: No space left on device; the previous \/etc\/containerd\/config\.toml is unchanged/);
        expect(failed.result).toBeUndefined();
        expect(await on("node1", "sha256sum /etc/containerd/config.toml; systemctl show -p MainPID --value containerd")).toBe(before);
        await expectContainerdOnDisk(n1);
      });
      // Space again: the same change goes through.
      expectOk(await apply("full /etc/containerd: re-run with space", node1(next), "node1"));
      await expectContainerdOnDisk(next);
      n1 = next;
      return "nothing (config.toml and containerd's PID unchanged on the full disk; the re-run converged)";
    });
  });

  it("full disk under /etc/cni/net.d: cni-conflist fails with the path and the cause; the previous list is intact", async () => {
    await scenarios.group("fault: full /etc/cni/net.d (tmpfs), conflist change (node1)", async () => {
      const next: Node1 = { ...n1, mtu: 1380 };
      const before = await on("node1", `sha256sum ${CONFLIST}`);
      await withFullDir("/etc/cni/net.d", 0, async () => {
        const report = await apply("full /etc/cni/net.d", node1(next), "node1");
        const failed = command(report, "node1-cni-conflist");
        expect(failed.status).toBe("failed");
        expect(failed.error).toMatch(/kubeplug\[node1\/cni-conflist\]: error: cannot write \/etc\/cni\/net\.d\/10-kubeplug\.conflist: No space left on device; the previous \/etc\/cni\/net\.d\/10-kubeplug\.conflist is unchanged/);
        expect(await on("node1", `sha256sum ${CONFLIST}`)).toBe(before);
        expect(await lists()).toBe(".kp-fill\n10-kubeplug.conflist");
      });
      expectOk(await apply("full /etc/cni/net.d: re-run with space", node1(next), "node1"));
      await expectMtu(1380);
      n1 = next;
      return "nothing (the previous list intact on the full disk; the re-run converged)";
    });
  });

  it("full disk under /opt/cni/bin: cni-plugins-install fails at the first binary with the path and the cause; every plugin stays as it was", async () => {
    await scenarios.group("fault: full /opt/cni/bin (tmpfs), plugin upgrade (node1)", async () => {
      const from = n1.cni;
      const to = from === CNI_VERSIONS.old ? CNI_VERSIONS.new : CNI_VERSIONS.old;
      await withFullDir(BIN, 0, async () => {
        const report = await apply("full /opt/cni/bin", node1({ ...n1, cni: to }), "node1");
        const failed = command(report, "node1-cni-plugins-install");
        expect(failed.status).toBe("failed");
        expect(failed.error).toMatch(/kubeplug\[node1\/cni-plugins-install\]: error: cannot write \/opt\/cni\/bin\/bandwidth: No space left on device; the previous \/opt\/cni\/bin\/bandwidth is unchanged/);
        expect(command(report, "node1-cni-conflist").status).not.toBe("ok");
        await expectPlugins(from);
      });
      await expectPlugins(from);
      return `nothing (all ${WANTED.length} plugins still ${from})`;
    });
  });

  // Rollback ---------------------------------------------------------------------------------------

  it("rollback: oci-runtimes-install fails after installing youki (a handler's preinstalled binary is missing) and puts the previous youki back", async () => {
    await scenarios.group("fault: oci-runtimes-install fails after its install, rollback (node3)", async () => {
      const earlier = `#!/bin/sh\necho "youki version ${YOUKI_VERSION} (an earlier build)"\n`;
      await on("node3", `printf '${earlier.replace(/\n/g, "\\n")}' > ${YOUKI}`);
      const before = await on("node3", `sha256sum ${YOUKI}; stat -c %a ${YOUKI}`);
      const report = await apply("oci-runtimes-install: missing preinstalled binary", node3(true), "node3");
      const failed = command(report, "node3-oci-runtimes-install");
      expect(failed.status).toBe("failed");
      expect(failed.error).toMatch(/kubeplug\[node3\/oci-runtimes-install\]: error: runtime handler broken needs \/opt\/missing\/runc, which is not there/);
      expect(failed.stdout).toContain(`wrote ${YOUKI}`);
      expect(failed.stdout).toContain(`restored previous ${YOUKI}`);
      expect(failed.stdout).toContain("rolled back: the files this run changed are as they were before it");
      expect(await on("node3", `sha256sum ${YOUKI}; stat -c %a ${YOUKI}`)).toBe(before);
      // crictl is crictl-install's, a sibling step.
      expect(await on("node3", "ls -A /usr/local/bin | grep -v -e '[.]kubeplug[.]bak$' -e '^crictl$'")).toBe("youki");
      expect(command(report, "node3-containerd-configure").status).toBe("skipped");
      expectOk(await apply("oci-runtimes-install: handler fixed", node3(), "node3"));
      expect(await on("node3", `sha256sum ${YOUKI} | cut -d' ' -f1`)).toBe(fileSha(join(__dirname, "standins", "youki", "youki")));
      return "nothing (the earlier youki back, byte for byte and mode)";
    });
  });

  it("rollback: cni-plugins-install runs out of space after its first binary and puts every plugin back", async () => {
    await scenarios.group("fault: cni-plugins-install full after 1 binary, rollback (node1)", async () => {
      const from = n1.cni;
      const to = from === CNI_VERSIONS.old ? CNI_VERSIONS.new : CNI_VERSIONS.old;
      // Room for the new bandwidth binary (the first), not for bridge (the second).
      const room = statSync(cni.plugins[to]!.bandwidth!).size + 256 * 1024;
      expect(statSync(cni.plugins[to]!.bridge!).size).toBeGreaterThan(512 * 1024);
      await withFullDir(BIN, room, async () => {
        const report = await apply("cni-plugins-install: full after bandwidth", node1({ ...n1, cni: to }), "node1");
        const failed = command(report, "node1-cni-plugins-install");
        expect(failed.status).toBe("failed");
        expect(failed.stdout).toContain(`wrote ${BIN}/bandwidth`);
        expect(failed.error).toMatch(/error: cannot write \/opt\/cni\/bin\/bridge: No space left on device; the previous \/opt\/cni\/bin\/bridge is unchanged/);
        expect(failed.stdout).toContain(`restored previous ${BIN}/bandwidth`);
        await expectPlugins(from);
      });
      await expectPlugins(from);
      return `nothing (bandwidth put back: all ${WANTED.length} plugins still ${from})`;
    });
  });

  it("rollback: cni-conflist fails after writing its list (the hook's injected failure) and puts the previous list back", async () => {
    await scenarios.group("fault: cni-conflist fails after its write, rollback (node1)", async () => {
      const before = await on("node1", `sha256sum ${CONFLIST}`);
      await arm("node1", "cni-conflist", 1, "fail");
      const report = await apply("cni-conflist: failure after the write", node1({ ...n1, mtu: 1360 }), "node1");
      expect(await fired("node1")).toBe(`fired 1 wrote ${CONFLIST}`);
      const failed = command(report, "node1-cni-conflist");
      expect(failed.status).toBe("failed");
      expect(failed.error).toMatch(/error: injected test fault at fault point 1 \(wrote \/etc\/cni\/net\.d\/10-kubeplug\.conflist\)/);
      expect(failed.stdout).toContain(`restored previous ${CONFLIST}`);
      expect(await on("node1", `sha256sum ${CONFLIST}`)).toBe(before);
      expect(await lists()).toBe("10-kubeplug.conflist");
      await expectMtu(n1.mtu);
      return "nothing (the previous list back)";
    });
  });
});
