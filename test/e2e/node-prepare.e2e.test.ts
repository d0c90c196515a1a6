import { mkdtempSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";
import { crictlRelease, CRICTL_VERSION, StandinRelease } from "./standins/artifacts";
import { command, failures, finishBed, onNode, Scenarios, Stack, waitForFreeBridge } from "./harness/scenarios";

// Issue 11 parts 1 and 2 on a booted Debian node (systemd-nspawn), applied by the harness that runs
// the program's own Command inputs over SSH:
//   node-prepare   REAL: /proc/sys, /proc/filesystems, /proc/swaps and cgroups of the node; this VM's
//                  kernel has no module loading (CONFIG_MODULES off, no /proc/modules, no /lib/modules),
//                  overlay and br_netfilter are built in (br_netfilter: /proc/sys/net/bridge per netns),
//                  ip_vs is not there at all; /proc/sys is read-only in the node except /proc/sys/net.
//   crictl-install STAND-IN crictl-v1.36.0-linux-amd64.tar.gz (standins/artifacts.ts: the CRI-O
//                  bundle's stand-in crictl, which answers --version), served by the bed's mirror.
const skip = testbedUnavailableReason();
const NODES = testbedNodes(1);
const MODULES_FILE = "/etc/modules-load.d/kubeplug.conf";
const SYSCTL_FILE = "/etc/sysctl.d/99-kubeplug.conf";
const WATCHED = [MODULES_FILE, SYSCTL_FILE, "/usr/local/bin/crictl", "/etc/crictl.yaml"];
const IP_VS_SKIPS = [
  expect.stringMatching(/^ip_vs not available: kernel \S+ does not have it, and the kernel cannot load modules \(no \/proc\/modules\); not loaded$/),
  "ip_vs not available: sysctl(s) net.ipv4.vs.conntrack skipped",
];

describe.skipIf(skip)(`node-prepare and crictl on a real test node${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed | undefined;
  let work: string;
  let scenarios: Scenarios;
  let crictl: StandinRelease;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-prepare-"));
    crictl = await crictlRelease();
    scenarios = new Scenarios(work);
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
  }, 900_000);

  afterAll(() => finishBed(bed, work, scenarios, "node-prepare e2e figures"), 120_000);

  const on = (script: string) => onNode(bed!, "node1", script);

  function stack(options: { sysctls?: Record<string, unknown>; kubelet?: Record<string, unknown> } = {}): Stack {
    return {
      config: {
        "kubeplug:cluster": {
          name: "prepare",
          kubelet: { cgroupDriver: "systemd", ...options.kubelet },
          ssh: bed!.stackSsh,
          downloads: { baseUrls: { crictl: crictl.baseUrl }, checksums: { crictl: crictl.checksums } },
          prepare: {
            modules: ["ip_vs"],
            sysctls: { "net.core.somaxconn": 1024, "net.ipv4.vs.conntrack": 1, "net.ipv4.conf.*.log_martians": 1, ...options.sysctls },
          },
          pools: [{ name: "p", runtime: { kind: "containerd", version: "2.1.9", install: { from: "package" }, crictl: { from: "release", version: CRICTL_VERSION } } }],
          nodes: [{ name: "node1", pool: "p", address: NODES[0]!.address }],
        },
      },
    };
  }

  const fingerprint = () => on(`stat -c '%n %Y %a' ${WATCHED.join(" ")}; sha256sum ${WATCHED.join(" ")}`);
  const sysctls = () => on("cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/core/somaxconn /proc/sys/net/ipv4/conf/all/log_martians /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables | tr '\\n' ' '");

  it("first apply: modules file and sysctl file written, values set now, ip_vs and its sysctl reported as not done; crictl installed with its crictl.yaml", async () => {
    expect(await on("cat /proc/sys/net/ipv4/ip_forward")).toBe("0");
    const report = await scenarios.apply("prepare + crictl: fresh", stack());
    expect(report.ok, failures(report)).toBe(true);
    const prepare = command(report, "node1-node-prepare").result!;
    expect(prepare.changed).toEqual(expect.arrayContaining([MODULES_FILE, SYSCTL_FILE, "sysctl:net.ipv4.ip_forward=1", "sysctl:net.core.somaxconn=1024", "sysctl:net.ipv4.conf.all.log_martians=1"]));
    // br_netfilter is built into this kernel (bridge-nf-call-* were 1 already): nothing to do for it.
    expect(prepare.changed.filter((c) => c.startsWith("sysctl:net.bridge."))).toEqual([]);
    expect(prepare.skipped).toEqual(IP_VS_SKIPS);
    expect(command(report, "node1-node-prepare").stdout).toContain("kernel modules present: overlay br_netfilter");
    expect(await sysctls()).toBe("1 1024 1 1 1");
    expect(await on(`cat ${MODULES_FILE}`)).toBe("# Managed by kubeplug (node-prepare): kernel modules the container runtime and the pod network need.\noverlay\nbr_netfilter\nip_vs");
    expect(await on(`cat ${SYSCTL_FILE}`)).toBe(
      [
        "# Managed by kubeplug (node-prepare): sysctls Kubernetes and this stack need.",
        "net.ipv4.conf.*.log_martians = 1",
        "net.ipv4.ip_forward = 1",
        "net.bridge.bridge-nf-call-iptables = 1",
        "net.bridge.bridge-nf-call-ip6tables = 1",
        "net.core.somaxconn = 1024",
        "net.ipv4.vs.conntrack = 1",
      ].join("\n"),
    );
    // systemd-sysctl reads the file the way a boot would, and sets the same values.
    console.log(`systemd-sysctl ${SYSCTL_FILE} on node1: ${await on(`/lib/systemd/systemd-sysctl ${SYSCTL_FILE} 2>&1; echo rc=$?`)}`);
    expect(await sysctls()).toBe("1 1024 1 1 1");

    const installed = command(report, "node1-crictl-install").result!;
    expect(installed.changed).toEqual(["/usr/local/bin/crictl", "/etc/crictl.yaml"]);
    expect(await on("stat -c '%a %U' /usr/local/bin/crictl")).toBe("755 root");
    const standin = createHash("sha256").update(readFileSync(join(__dirname, "standins", "crio", "crictl"))).digest("hex");
    expect(await on("sha256sum /usr/local/bin/crictl | cut -d' ' -f1")).toBe(standin);
    expect(await on("crictl --version")).toBe(`crictl version v${CRICTL_VERSION}`);
    expect(await on("cat /etc/crictl.yaml")).toBe("# Managed by kubeplug.\nruntime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 10");
    expect(await on("cat /var/lib/kubeplug/owned/crictl-install.list | awk '{print $2}' | tr '\\n' ' '")).toBe("/usr/local/bin/crictl /etc/crictl.yaml");
    scenarios.last().lost = "nothing";
  });

  it("second apply: every step unchanged (no write, no restart), same mtimes and hashes, and the same skips reported", async () => {
    const before = await fingerprint();
    const pid = await on("systemctl show -p MainPID --value containerd");
    const report = await scenarios.apply("prepare + crictl: second apply", stack());
    expect(report.ok, failures(report)).toBe(true);
    for (const c of report.commands) {
      expect({ name: c.name, status: c.status, changed: c.result?.changed, restarted: c.result?.restarted }).toEqual({ name: c.name, status: "ok", changed: [], restarted: [] });
    }
    expect(command(report, "node1-node-prepare").stdout).toMatch(/kubeplug\[node1\/node-prepare\]: unchanged$/m);
    expect(command(report, "node1-crictl-install").stdout).toMatch(/kubeplug\[node1\/crictl-install\]: unchanged$/m);
    expect(command(report, "node1-node-prepare").result!.skipped).toEqual(IP_VS_SKIPS);
    expect(await fingerprint()).toBe(before);
    expect(await on("systemctl show -p MainPID --value containerd")).toBe(pid);
    scenarios.last().lost = "nothing; 0 files written, 0 sysctls set, 0 restarts";
  });

  it("drift: a sysctl reset by hand is set again, and only that", async () => {
    await on("echo 0 > /proc/sys/net/ipv4/ip_forward");
    const before = await fingerprint();
    const report = await scenarios.apply("prepare: ip_forward reset by hand", stack());
    expect(report.ok, failures(report)).toBe(true);
    expect(command(report, "node1-node-prepare").result!.changed).toEqual(["sysctl:net.ipv4.ip_forward=1"]);
    expect(await on("cat /proc/sys/net/ipv4/ip_forward")).toBe("1");
    expect(await fingerprint()).toBe(before);
    scenarios.last().lost = "nothing";
  });

  it("a file systemd-sysctl reads after ours (/etc/sysctl.conf, a later sysctl.d file) that would undo a key at boot: warned, left alone", async () => {
    await on("if [ -e /etc/sysctl.conf ]; then cp -a /etc/sysctl.conf /run/sysctl.conf.saved; fi; printf 'net.ipv4.ip_forward = 0\\n' > /etc/sysctl.conf && printf 'net.core.somaxconn=512\\nnet.ipv4.ip_forward = 1\\n' > /etc/sysctl.d/zz-local.conf");
    try {
      const before = await fingerprint();
      const report = await scenarios.apply("prepare: later sysctl files (warned)", stack());
      expect(report.ok, failures(report)).toBe(true);
      const prepare = command(report, "node1-node-prepare");
      expect(prepare.result!.changed).toEqual([]);
      expect(prepare.stdout).toContain(`warning: at boot, /etc/sysctl.d/zz-local.conf sets net.core.somaxconn = 512 after ${SYSCTL_FILE} (which sets 1024), and wins; change it there`);
      expect(prepare.stdout).toContain(`warning: at boot, /etc/sysctl.conf sets net.ipv4.ip_forward = 0 after ${SYSCTL_FILE} (which sets 1), and wins; change it there`);
      expect(prepare.stdout).not.toContain("zz-local.conf sets net.ipv4.ip_forward");
      expect(await on("cat /etc/sysctl.conf")).toBe("net.ipv4.ip_forward = 0");
      expect(await fingerprint()).toBe(before);
    } finally {
      await on("rm -f /etc/sysctl.conf /etc/sysctl.d/zz-local.conf; if [ -e /run/sysctl.conf.saved ]; then mv /run/sysctl.conf.saved /etc/sysctl.conf; fi");
    }
    scenarios.last().lost = "nothing";
  });

  it("SIGKILL at every fault point of node-prepare (after each file, after each sysctl set): the next apply finishes the job", async () => {
    const arm = (point: number) => on(`mkdir -p /run/kubeplug && rm -f /run/kubeplug/fault-fired && echo 'node-prepare ${point} kill' > /run/kubeplug/fault-injection`);
    const points: string[] = [];
    try {
      for (let i = 1; i <= 10; i++) {
        const variant = stack({ sysctls: { "net.core.somaxconn": 2000 + i } });
        await arm(i);
        const faulted = await scenarios.apply(`prepare: SIGKILL at point ${i}`, variant);
        const what = await on("cat /run/kubeplug/fault-fired 2>/dev/null || echo none");
        if (what.startsWith("passed")) {
          expect(faulted.ok, failures(faulted)).toBe(true);
          expect(what).toBe(`passed ${i - 1}`);
          break;
        }
        expect(what).toMatch(new RegExp(`^fired ${i} `));
        expect(command(faulted, "node1-node-prepare")).toMatchObject({ status: "failed", exitCode: 137 });
        expect(command(faulted, "node1-oci-runtimes-install").status).toBe("skipped");
        const again = await scenarios.apply(`prepare: re-run after the kill at point ${i}`, variant);
        expect(again.ok, failures(again)).toBe(true);
        expect(await on("cat /proc/sys/net/core/somaxconn")).toBe(String(2000 + i));
        expect(await on(`grep somaxconn ${SYSCTL_FILE}`)).toBe(`net.core.somaxconn = ${2000 + i}`);
        expect(await on("ls -d /run/kubeplug/stage.* 2>/dev/null | wc -l")).toBe("0");
        points.push(what.replace(/^fired \d+ /, ""));
      }
    } finally {
      await on("rm -f /run/kubeplug/fault-injection");
    }
    // Each variant changes the sysctl file and one value: two points.
    expect(points).toEqual([`wrote ${SYSCTL_FILE}`, "set net.core.somaxconn"]);
    const back = await scenarios.apply("prepare: back to the base stack", stack());
    expect(back.ok, failures(back)).toBe(true);
    expect(await sysctls()).toBe("1 1024 1 1 1");
    scenarios.last().lost = `nothing; killed at ${points.length} points, each finished by the next apply`;
  });

  it("a sysctl the node refuses (vm.* is read-only in the container): fails naming node, key and cause; the file and the values set before it are rolled back", async () => {
    const before = await fingerprint();
    // net.core.somaxconn is set (1024 -> 8192) before vm.max_map_count fails, and must be put back.
    const report = await scenarios.apply("prepare: read-only sysctl (rolled back)", stack({ sysctls: { "net.core.somaxconn": 8192, "vm.max_map_count": 262144 } }));
    const failed = command(report, "node1-node-prepare");
    expect(failed.status).toBe("failed");
    expect(failed.stderr).toMatch(/kubeplug\[node1\/node-prepare\]: error: cannot set sysctl vm\.max_map_count to 262144 \(it is \d+\): Read-only file system/);
    expect(failed.stdout).toContain("restored net.core.somaxconn = 1024");
    expect(failed.stdout).toContain(`restored previous ${SYSCTL_FILE}`);
    expect(command(report, "node1-containerd-configure").status).toBe("skipped");
    expect(await sysctls()).toBe("1 1024 1 1 1");
    expect(await fingerprint()).toBe(before);
    scenarios.last().lost = "nothing (refused, rolled back)";
  });

  it("crictl: a checksum that does not match the tarball stops the step before anything is installed", async () => {
    const before = await fingerprint();
    const bad = stack();
    bad.config["kubeplug:cluster"].downloads.checksums.crictl = { [CRICTL_VERSION]: { amd64: `sha256:${"0".repeat(64)}` } };
    const report = await scenarios.apply("crictl: checksum mismatch (refused)", bad);
    const failed = command(report, "node1-crictl-install");
    expect(failed.status).toBe("failed");
    expect(failed.stderr).toMatch(new RegExp(`kubeplug\\[node1/crictl-install\\]: error: checksum mismatch for ${crictl.baseUrl.replace(/[.]/g, "\\.")}/v${CRICTL_VERSION}/crictl-v${CRICTL_VERSION}-linux-amd64\\.tar\\.gz: expected sha256:0{64}, got sha256:[0-9a-f]{64}; nothing was installed`));
    expect(await fingerprint()).toBe(before);
    scenarios.last().lost = "nothing (refused before install)";
  });

  it("LimitedSwap on this cgroup v1 node: refused before anything is written", async () => {
    const before = await fingerprint();
    const report = await scenarios.apply("prepare: LimitedSwap without cgroup v2", stack({ kubelet: { failSwapOn: false, memorySwap: { swapBehavior: "LimitedSwap" } } }));
    const failed = command(report, "node1-node-prepare");
    expect(failed.status).toBe("failed");
    expect(failed.stderr).toContain("kubeplug[node1/node-prepare]: error: memorySwap.swapBehavior LimitedSwap needs cgroup v2, but /sys/fs/cgroup is not a cgroup v2 hierarchy on this node; nothing was changed");
    expect(await fingerprint()).toBe(before);
    scenarios.last().lost = "nothing (refused)";
  });

  it("swap on (a STAND-IN /proc/swaps bind-mounted into the node) with failSwapOn: true: fails naming the node and the swap devices", async () => {
    const node = bed!.nodes.find((n) => n.name === "node1")!;
    const { execFileSync } = await import("node:child_process");
    const fake = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile                               file\t\t1048572\t\t0\t\t-2\n/dev/vdb2                               partition\t2097148\t\t0\t\t-3\n";
    execFileSync("nsenter", ["-t", String(node.initPid), "-m", "--", "sh", "-c", `printf '%s' '${fake}' > /run/kubeplug-fake-swaps && mount --bind /run/kubeplug-fake-swaps /proc/swaps`]);
    try {
      const report = await scenarios.apply("prepare: swap on, failSwapOn true (stand-in /proc/swaps)", stack());
      const failed = command(report, "node1-node-prepare");
      expect(failed.status).toBe("failed");
      expect(failed.stderr).toContain("kubeplug[node1/node-prepare]: error: swap is on (/swapfile, /dev/vdb2), and the kubelet (kubeplug:cluster.kubelet.failSwapOn: true) will not start with swap on");
      const allowed = await scenarios.apply("prepare: swap on, failSwapOn false (stand-in /proc/swaps)", stack({ kubelet: { failSwapOn: false } }));
      expect(allowed.ok, failures(allowed)).toBe(true);
      expect(command(allowed, "node1-node-prepare").stdout).toContain("swap is on (/swapfile, /dev/vdb2); the kubelet runs with failSwapOn: false and swapBehavior NoSwap");
    } finally {
      // From the node itself: the host's umount, in the node's mount namespace only, cannot resolve the node's /proc.
      await on("umount /proc/swaps && rm -f /run/kubeplug-fake-swaps");
    }
    expect(await on("awk 'NR > 1' /proc/swaps | wc -l")).toBe("0");
    scenarios.last().lost = "nothing";
  });
});
