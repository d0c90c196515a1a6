import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApplyInput, ApplyReport } from "./harness/report";
import { command, finishBed, onNode as runOnNode, Scenarios, Stack, waitForFreeBridge } from "./harness/scenarios";
import { startTestbed, Testbed, testbedNodes, testbedUnavailableReason } from "./testbed";

// containerd on three booted Debian nodes (systemd-nspawn), applied by the test harness that runs the
// Pulumi program's own Command inputs over SSH (harness/apply-child.ts). Scenarios build on each
// other, in order: fresh install, idempotence, changes, faults.
const skip = testbedUnavailableReason();
const NODES = testbedNodes(3);
const PASSWORD = "e2e-Pa55word-7f3c91";
const ROOT = join(__dirname, "..", "..");

describe.skipIf(skip)(`containerd on real test nodes${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Testbed;
  let work: string;
  let stateFile: string;
  let scenarios: Scenarios;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "kubeplug-e2e-"));
    stateFile = join(work, "state.json");
    scenarios = new Scenarios(work, { mirrorPassword: PASSWORD });
    await waitForFreeBridge();
    bed = await startTestbed({ nodes: NODES });
  });

  afterAll(() => finishBed(bed, work, scenarios, "e2e figures"));

  /**
   * The dev stack's runtime, pointed at this bed's key, with registry credentials on the stable pool.
   * Its network section is left out: these scenarios are about containerd (dev-stack.e2e.test.ts applies the whole stack).
   */
  function baseStack(): Stack {
    const stack = yaml.load(readFileSync(join(ROOT, "stacks", "Pulumi.dev.yaml"), "utf8")) as Stack;
    delete stack.config["kubeplug:network"];
    const cluster = stack.config["kubeplug:cluster"];
    cluster.ssh.privateKeyPath = bed.keyPath;
    stack.config["kubeplug:mirrorPassword"] = { secure: "v1:e2e" };
    cluster.pools[0].runtime.registries.hosts["docker.io"].mirrors[0].auth = {
      username: "puller",
      password: { from: "config", key: "mirrorPassword" },
    };
    return stack;
  }

  /** The last stack every node converged on; fault scenarios start from it. */
  let good: () => Stack = () => baseStack();
  const clone = (stack: Stack): Stack => JSON.parse(JSON.stringify(stack));

  function pool(stack: Stack, name: string) {
    return stack.config["kubeplug:cluster"].pools.find((p: { name: string }) => p.name === name);
  }

  /** A change every pool must apply: one more mirror for docker.io, so every node has work to do. */
  function withExtraMirror(stack: Stack, port: number): Stack {
    for (const p of stack.config["kubeplug:cluster"].pools) {
      p.runtime.registries.hosts["docker.io"].mirrors.push({ url: `http://10.231.0.1:${port}` });
    }
    return stack;
  }

  /** Applies like `pulumi up` with a state file (unchanged steps do not run), or every step with `stateless`. */
  function apply(scenario: string, stack: Stack, options: { stateless?: boolean; dropConnection?: ApplyInput["dropConnection"] } = {}) {
    return scenarios.apply(scenario, stack, { ...(options.stateless ? {} : { stateFile }), ...(options.dropConnection ? { dropConnection: options.dropConnection } : {}) });
  }

  const figure = () => scenarios.last();
  const onNode = (node: string, script: string) => runOnNode(bed, node, script);

  const LIMITS_DIR = "/etc/systemd/system/containerd.service.d";
  const LIMITS_DROP_IN = `${LIMITS_DIR}/50-kubeplug-limits.conf`;
  const openFiles = (node: string) => onNode(node, "awk '/^Max open files/ { print $4 }' /proc/$(systemctl show -p MainPID --value containerd)/limits");

  /** What must not move when nothing changes: file hashes and mtimes, and containerd's PID. */
  async function snapshot(node: string) {
    return {
      files: await onNode(node, `dirs="/etc/containerd $(ls -d ${LIMITS_DIR} 2>/dev/null || true)"; find $dirs -type f ! -name '*.kubeplug.bak' -printf '%p %T@ %m\\n' | sort; find $dirs -type f ! -name '*.kubeplug.bak' | sort | xargs sha256sum`),
      mainPid: await onNode(node, "systemctl show -p MainPID --value containerd"),
    };
  }

  /** The node serves CRI with the given settings: unit active, socket answers, CRI plugin loaded, dump shows them. */
  async function expectHealthy(node: string, expected: { version: string; sandbox: string }) {
    expect(await onNode(node, "systemctl is-active containerd")).toBe("active");
    expect(await onNode(node, "ctr --address /run/containerd/containerd.sock version | sed -n 's/^  Version: *//p' | tail -n1")).toContain(expected.version);
    expect(await onNode(node, "ctr --address /run/containerd/containerd.sock plugins ls | awk '$2 == \"cri\" { print $NF }'")).toBe("ok");
    const dump = await onNode(node, "containerd config dump");
    expect(dump).toContain(`'${expected.sandbox}'`.replace(/'/g, dump.includes(`"${expected.sandbox}"`) ? '"' : "'"));
    expect(dump).toMatch(/SystemdCgroup = true/);
    expect(dump).toMatch(/config_path = ['"]\/etc\/containerd\/certs.d['"]/);
    return dump;
  }

  it("fresh install: containerd 1.6 (config v2) on node1-2 and 2.1 (config v3) on node3, credentials kept secret", async () => {
    const seen: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const n of NODES) seen.push((await bed.ssh(n.name, "ps -eo args")).stdout);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const report = await apply("fresh install", baseStack());
    watching = false;
    await watcher;
    expect(report.errors).toEqual([]);
    expect(report.commands.map((c) => [c.name, c.status])).toEqual(expect.arrayContaining(NODES.flatMap((n) => ["oci-runtimes-install", "containerd-install", "containerd-configure"].map((s) => [`${n.name}-${s}`, "ok"]))));
    figure().lost = "nothing";

    for (const node of ["node1", "node2"]) {
      const dump = await expectHealthy(node, { version: "1.6.20", sandbox: "registry.k8s.io/pause:3.10" });
      expect(dump).toMatch(/^version = 2$/m);
    }
    const dump3 = await expectHealthy("node3", { version: "2.1.9", sandbox: "registry.k8s.io/pause:3.10" });
    expect(dump3).toMatch(/^version = 3$/m);
    expect(await onNode("node3", "cat /etc/containerd/certs.d/docker.io/hosts.toml")).toContain('[host."http://10.231.0.1:5000"]');

    // Secrets: never on a command line, in a log or in any file but config.toml (0600, root).
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.join("\n")).not.toContain(PASSWORD);
    for (const node of ["node1", "node2"]) {
      expect(await onNode(node, "stat -c '%a %U' /etc/containerd/config.toml")).toBe("600 root");
      const holders = await onNode(node, `grep -rlsF -- '${PASSWORD}' /etc /var /run /tmp /root /home 2>/dev/null | grep -v '^/proc' || true`);
      expect(holders.split("\n").filter(Boolean)).toEqual(["/etc/containerd/config.toml"]);
      expect(await onNode(node, `journalctl --no-pager -o cat | grep -cF -- '${PASSWORD}' || true`)).toBe("0");
    }
    expect(await onNode("node3", `grep -rlsF -- '${PASSWORD}' /etc /var /run /tmp /root || true`)).toBe("");
  });

  it("idempotence: a second apply, every step run again, changes no file and restarts nothing", async () => {
    const before = await Promise.all(NODES.map((n) => snapshot(n.name)));
    const report = await apply("second apply (all steps re-run)", baseStack(), { stateless: true });
    expect(report.ok).toBe(true);
    for (const c of report.commands) expect({ name: c.name, changed: c.result?.changed, restarted: c.result?.restarted }).toEqual({ name: c.name, changed: [], restarted: [] });
    expect(await Promise.all(NODES.map((n) => snapshot(n.name)))).toEqual(before);
    figure().lost = "nothing; 0 files written, 0 restarts";
  });

  it("change: a new mirror reaches only hosts.toml and restarts nothing", async () => {
    const stack = baseStack();
    pool(stack, "edge").runtime.registries.hosts["docker.io"].mirrors.push({ url: "http://10.231.0.1:5001" });
    const pid = (await snapshot("node3")).mainPid;
    const report = await apply("mirror added (edge pool)", stack);
    expect(report.ok).toBe(true);
    expect(report.commands.filter((c) => c.status === "ok").map((c) => c.name)).toEqual(["node3-containerd-configure"]);
    expect(command(report, "node3-containerd-configure").result).toMatchObject({ changed: ["/etc/containerd/certs.d/docker.io/hosts.toml"], restarted: [] });
    expect((await snapshot("node3")).mainPid).toBe(pid);
    expect(await onNode("node3", "cat /etc/containerd/certs.d/docker.io/hosts.toml")).toContain('[host."http://10.231.0.1:5001"]');
    figure().lost = "nothing; 1 file, 0 restarts";
    good = () => {
      const next = baseStack();
      pool(next, "edge").runtime.registries.hosts["docker.io"].mirrors.push({ url: "http://10.231.0.1:5001" });
      return next;
    };
  });

  it("change: a runtime option (sandbox image) rewrites config.toml and restarts containerd once", async () => {
    const stack = good();
    pool(stack, "edge").runtime.sandboxImage = "registry.k8s.io/pause:3.9";
    const pid = (await snapshot("node3")).mainPid;
    const report = await apply("sandbox image changed (edge pool)", stack);
    expect(report.ok).toBe(true);
    expect(command(report, "node3-containerd-configure").result).toMatchObject({ changed: ["/etc/containerd/config.toml"], restarted: ["containerd"] });
    expect((await snapshot("node3")).mainPid).not.toBe(pid);
    await expectHealthy("node3", { version: "2.1.9", sandbox: "registry.k8s.io/pause:3.9" });
    figure().lost = "nothing; 1 file, 1 restart";
    const previous = good;
    good = () => {
      const next = previous();
      pool(next, "edge").runtime.sandboxImage = "registry.k8s.io/pause:3.9";
      return next;
    };
  });

  it("change: unit limits and daemon settings land as an owned drop-in and config keys, containerd restarts once, and a re-run changes nothing", async () => {
    // The test machine caps open files (20000 here), and PID 1 of a node inherits that hard limit: ask for less.
    const hard = Number(await onNode("node3", "awk '/^Max open files/ { print $5 }' /proc/1/limits"));
    const nofile = Math.min(hard, 524288) - 1;
    const stack = good();
    Object.assign(pool(stack, "edge").runtime, { serviceLimits: { LimitNOFILE: nofile, TasksMax: "infinity" }, logLevel: "debug", unprivilegedPorts: false });
    const pid = (await snapshot("node3")).mainPid;
    const report = await apply("unit limits and daemon settings (edge pool)", stack);
    expect(report.ok).toBe(true);
    expect(report.commands.filter((c) => c.status === "ok").map((c) => c.name)).toEqual(["node3-containerd-configure"]);
    const configure = command(report, "node3-containerd-configure");
    expect([...configure.result!.changed].sort()).toEqual(["/etc/containerd/config.toml", LIMITS_DROP_IN]);
    expect(configure.result!.restarted).toEqual(["containerd"]);
    expect(configure.stdout).not.toContain("warning");
    expect((await snapshot("node3")).mainPid).not.toBe(pid);
    expect(await openFiles("node3")).toBe(String(nofile));
    expect(await onNode("node3", "systemctl show -p TasksMax --value containerd")).toBe("infinity");
    const dump = await onNode("node3", "containerd config dump");
    expect(dump).toMatch(/\[debug\][^[]*level = ['"]debug['"]/);
    expect(dump).toMatch(/enable_unprivileged_ports = false/);

    const before = await snapshot("node3");
    const again = await apply("unit limits, second apply (all steps re-run)", stack, { stateless: true });
    expect(again.ok).toBe(true);
    for (const c of again.commands) expect({ name: c.name, changed: c.result?.changed, restarted: c.result?.restarted }).toEqual({ name: c.name, changed: [], restarted: [] });
    expect(await snapshot("node3")).toEqual(before);
    figure().lost = `nothing; LimitNOFILE=${nofile} in effect; second run: 0 files written, 0 restarts`;

    // Above PID 1's hard limit systemd starts containerd with the lower limit, silently: the step says so.
    if (hard < 1048576) {
      pool(stack, "edge").runtime.serviceLimits.LimitNOFILE = hard + 1;
      const capped = command(await apply("unit limit above the node's hard limit (edge pool)", stack), "node3-containerd-configure");
      expect(capped.status).toBe("ok");
      expect(capped.stdout).toContain(`warning: containerd runs with LimitNOFILE=${hard}, not the ${hard + 1} that ${LIMITS_DROP_IN} sets: systemd on this node cannot raise it above its own hard limit (${hard})`);
      expect(await openFiles("node3")).toBe(String(hard));
      figure().lost = `nothing; the step warns that containerd runs with ${hard}`;
    }
  });

  it("change: dropping the unit limits removes kubeplug's drop-in and restarts containerd on the unit's own limits", async () => {
    const stack = good();
    Object.assign(pool(stack, "edge").runtime, { logLevel: "debug", unprivilegedPorts: false });
    const report = await apply("unit limits dropped (edge pool)", stack);
    expect(report.ok).toBe(true);
    const result = command(report, "node3-containerd-configure").result!;
    expect(result.restarted).toEqual(["containerd"]);
    expect(await onNode("node3", `test -e ${LIMITS_DROP_IN} && echo present || echo absent`)).toBe("absent");
    expect(await onNode("node3", "systemctl show -p DropInPaths --value containerd")).not.toContain(LIMITS_DROP_IN);
    figure().lost = "nothing; 1 drop-in removed, 1 restart";
    const previous = good;
    good = () => {
      const next = previous();
      Object.assign(pool(next, "edge").runtime, { logLevel: "debug", unprivilegedPorts: false });
      return next;
    };
  });

  const SANDBOX = { node1: "registry.k8s.io/pause:3.10", node2: "registry.k8s.io/pause:3.10", node3: "registry.k8s.io/pause:3.9" } as const;
  const VERSION = { node1: "1.6.20", node2: "1.6.20", node3: "2.1.9" } as const;
  type NodeName = keyof typeof SANDBOX;

  /** Runs a fault next to a change every node must apply; the healthy nodes must finish it. */
  async function applyFault(scenario: string, port: number, fault: (stack: Stack) => void, options: Parameters<typeof apply>[2] = {}) {
    const stack = withExtraMirror(good(), port);
    fault(stack);
    const report = await apply(scenario, stack, options);
    const previous = good;
    good = () => withExtraMirror(previous(), port);
    return report;
  }

  /** The faulty node kept its previous, working config: the new mirror never reached it, and it serves CRI. */
  async function expectPreviousState(node: NodeName, missingPort: number) {
    await expectHealthy(node, { version: VERSION[node], sandbox: SANDBOX[node] });
    expect(await onNode(node, "cat /etc/containerd/certs.d/docker.io/hosts.toml")).not.toContain(`:${missingPort}"`);
  }

  async function expectOthersFinished(report: ApplyReport, faulty: string, port: number) {
    for (const node of NODES.map((n) => n.name).filter((n) => n !== faulty)) {
      expect(command(report, `${node}-containerd-configure`).status).toBe("ok");
      expect(await onNode(node, "cat /etc/containerd/certs.d/docker.io/hosts.toml")).toContain(`:${port}"`);
    }
  }

  it("fault: an unreachable node fails its own steps, named, and the others finish", async () => {
    const report = await applyFault("fault: unreachable node", 5002, (stack) => {
      stack.config["kubeplug:cluster"].nodes.push({ name: "node4", pool: "stable", address: "10.231.0.14" });
    });
    expect(report.ok).toBe(false);
    // The first thing to reach a node is its step library's upload; every step waits for the library.
    expect(command(report, "node4-node-library-upload").error).toMatch(/^node4-node-library-upload: could not dial 10\.231\.0\.14:22 after 3 attempt\(s\)/);
    expect(command(report, "node4-node-library").status).toBe("skipped");
    expect(command(report, "node4-node-prepare").status).toBe("skipped");
    expect(command(report, "node4-containerd-configure").status).toBe("skipped");
    await expectOthersFinished(report, "node4", 5002);
    figure().lost = "nothing (node4 never reached; 3 others converged)";
  });

  it("fault: a checksum mismatch installs nothing and the node keeps its containerd", async () => {
    const report = await applyFault("fault: checksum mismatch (node2)", 5003, (stack) => {
      const cluster = stack.config["kubeplug:cluster"];
      const release = clone({ config: { p: pool(stack, "stable") } }).config.p;
      release.name = "stable-release";
      release.runtime.install = { from: "release" };
      cluster.pools.push(release);
      cluster.nodes.find((n: { name: string }) => n.name === "node2").pool = "stable-release";
      cluster.downloads.checksums = { containerd: { "1.6.20": { amd64: `sha256:${"0".repeat(64)}` } } };
    });
    const failed = command(report, "node2-containerd-install");
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/^node2-containerd-install: process exited with status 1: .*kubeplug\[node2\/containerd-install\]: error: checksum mismatch for http:\/\/10\.231\.0\.1:8431\/releases\/containerd\/v1\.6\.20\/containerd-1\.6\.20-linux-amd64\.tar\.gz: expected sha256:0{64}, got sha256:[0-9a-f]{64}; nothing was installed/);
    expect(command(report, "node2-containerd-configure").status).toBe("skipped");
    expect(await onNode("node2", "test ! -e /usr/local/bin/containerd && readlink -f $(command -v containerd)")).toBe("/usr/bin/containerd");
    await expectPreviousState("node2", 5003);
    await expectOthersFinished(report, "node2", 5003);
    figure().lost = "nothing (node2 kept 1.6.20 from its package and its config)";
  });

  it("fault: a raw override containerd rejects changes nothing on the node", async () => {
    const before = await snapshot("node3");
    const report = await applyFault("fault: invalid raw override (node3)", 5004, (stack) => {
      pool(stack, "edge").runtime.overrides = { plugins: { "io.containerd.cri.v1.runtime": { cni: { max_conf_num: "many" } } } };
    });
    const failed = command(report, "node3-containerd-configure");
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/kubeplug\[node3\/containerd-configure\]: error: containerd 2\.1\.9 rejects the config: .*MaxConfNum of type int.* in the new \/etc\/containerd\/config\.toml; nothing was changed/);
    expect(await snapshot("node3")).toEqual(before);
    await expectPreviousState("node3", 5004);
    await expectOthersFinished(report, "node3", 5004);
    figure().lost = "nothing (node3 files and PID unchanged)";
  });

  it("fault: a config on which containerd does not start is rolled back and containerd runs on the previous one", async () => {
    const report = await applyFault("fault: containerd fails to start (node3)", 5005, (stack) => {
      pool(stack, "edge").runtime.root = "/etc/hostname/containerd";
    });
    const failed = command(report, "node3-containerd-configure");
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/kubeplug\[node3\/containerd-configure\]: error: containerd is not healthy with the new \/etc\/containerd\/config\.toml/);
    expect(failed.stdout).toContain("kubeplug[node3/containerd-configure]: rolled back: containerd is healthy again with the previous files");
    const dump = await expectHealthy("node3", { version: "2.1.9", sandbox: SANDBOX.node3 });
    expect(dump).toMatch(/^root = ['"]\/var\/lib\/containerd['"]$/m);
    await expectPreviousState("node3", 5005);
    await expectOthersFinished(report, "node3", 5005);
    figure().lost = "nothing (node3 rolled back to its previous config, containerd active)";
  });

  it("fault: an SSH connection dropped mid-step fails the step by name; the node finishes it and the next apply converges", async () => {
    const report = await applyFault(
      "fault: SSH dropped mid-step (node1)",
      5006,
      (stack) => {
        pool(stack, "stable").runtime.sandboxImage = "registry.k8s.io/pause:3.9";
      },
      { dropConnection: { command: "node1-containerd-configure", whenStdout: "wrote /etc/containerd/config.toml" } },
    );
    expect(command(report, "node1-containerd-configure").error).toBe("node1-containerd-configure: connection to 10.231.0.11 dropped mid-step");
    expect(command(report, "node2-containerd-configure").result?.restarted).toEqual(["containerd"]);
    // The step ignores SIGHUP: it finishes on the node. Wait for its lock, then it must be healthy.
    await onNode("node1", "flock -w 120 /run/kubeplug/node.lock true");
    await expectHealthy("node1", { version: "1.6.20", sandbox: "registry.k8s.io/pause:3.9" });

    const stack = good();
    pool(stack, "stable").runtime.sandboxImage = "registry.k8s.io/pause:3.9";
    const again = await apply("re-apply after the drop", stack);
    expect(again.ok).toBe(true);
    expect(again.commands.filter((c) => c.status === "ok").map((c) => c.name)).toEqual(["node1-containerd-configure"]);
    expect(command(again, "node1-containerd-configure").result).toMatchObject({ changed: [], restarted: [] });
    figure().lost = "nothing (the node finished the step; re-apply found it converged)";
    scenarios.figures[scenarios.figures.length - 2]!.lost = "nothing (node1 finished the step after the drop)";
  });
});
