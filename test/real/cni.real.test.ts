import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parse } from "smol-toml";
import { libraryInstallCommand, stepLibrary } from "../../src/components/node/library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { networkSteps } from "../../src/components/network/network-steps";
import { renderConflists } from "../../src/components/network/cni-conflist";
import { buildNodeStep, NodeStepSpec } from "../../src/components/node/step";
import { renderContainerd } from "../../src/components/runtime/containerd-render";
import { parseStackFile, LoadedStack } from "../../src/config/stack";
import { containerdBinDir, debianContainerdVersion } from "../support/containerd-binaries";
import { CriClient, PodSandboxConfig } from "../support/cri/client";
import { extractDeb } from "../support/debs";
import { FileServer, startFileServer } from "../support/file-server";
import { BUSYBOX_IMAGE, IMAGE_TOOLS, importImages } from "../support/oci-image";
import { PRIVATE_CONTAINERD_TOOLS, PrivateContainerd, sandboxImageOf, startPrivateContainerd } from "../support/private-containerd";
import { missingTools } from "../support/tools";

// Issue "CNI", definition of done, first bullet: kubeplug's CNI output, for real. kubeplug's own node steps
// (cni-plugins-install, then cni-conflist), rendered from a stack file and run as root with bash exactly as
// `pulumi up` would run them on a node, install the plugin binaries and a bridge + host-local + portmap +
// bandwidth + tuning conflist into test directories. A private containerd (sid's 2.1.9 with a v3 config, then
// bookworm's 1.6.20 with a v2 config), fed the config kubeplug rendered for those directories, then runs a pod
// sandbox through CRI: its CRI plugin calls libcni, which runs kubeplug's binaries with kubeplug's list (ADD), and
// StopPodSandbox runs DEL. Containers cannot start inside the nspawn test nodes (DESIGN.md §4), so this runs on the
// test machine, with containerd in a network namespace of its own where the bridge, veths, rules and qdiscs land.
//
// The plugins come `from: release` through downloads.baseUrls, served from 127.0.0.1. No GitHub release is
// reachable here, so the tarball served is a STAND-IN: upstream's flat layout (./bridge, ./portmap, ...,
// README.md, LICENSE) built from Debian sid's containernetworking-plugins 1.9.1 binaries, with its own sha256 in
// downloads.checksums (which takes precedence over the catalog's pin of the real asset). The `from: package`
// path would run apt-get on the test machine itself, so it is not used here.

const STEP_IDS = ["cni-plugins-install", "cni-conflist"] as const;
// Where the step prelude keeps state: fixed paths (prelude.sh), so the test records what it creates there.
const KP_STATE_FILES = [
  ...STEP_IDS.map((id) => `/var/lib/kubeplug/owned/${id}.list`),
  ...STEP_IDS.map((id) => `/var/log/kubeplug/${id}.log`),
  "/run/kubeplug/node.lock",
];
const KP_STATE_DIRS = ["/var/lib/kubeplug/owned", "/var/lib/kubeplug", "/var/log/kubeplug", "/run/kubeplug"]; // deepest first
// An owned list from elsewhere would make the steps prune (move aside) the files it names: never run against one.
const foreignOwned = STEP_IDS.map((id) => `/var/lib/kubeplug/owned/${id}.list`).find((f) => existsSync(f));

const skip = missingTools([...PRIVATE_CONTAINERD_TOOLS, ...IMAGE_TOOLS, "nsenter", "iptables-save", "nft", "tc", "curl", "tar", "flock", "bash"], true)
  ?? (foreignOwned ? `${foreignOwned} exists (kubeplug state from elsewhere on this machine; the steps would prune its files)` : undefined);

const NETWORK = "kp-cni-real";
const BRIDGE = "kp-cni0";
const SUBNET = "10.88.77.0/24";
const GATEWAY = "10.88.77.1";
const HOST_PORT = 18080;
const SOMAXCONN = "512";
const PLUGINS_VERSION = "1.9.1";
const TARBALL = `v${PLUGINS_VERSION}/cni-plugins-linux-amd64-v${PLUGINS_VERSION}.tgz`; // artifacts.ts layout

/** The stack a user would write: two pools (one per containerd line), kubeplug's network in test directories. */
function stackYaml(work: string, baseUrl: string, checksum: string): string {
  return `config:
  kubeplug:cluster:
    name: cni-real
    ssh: { privateKeyPath: /dev/null, hostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2staG9zdC1rZXktZ29sZGVuLi4uLi4uLi4uLi4u }
    kubelet: { cgroupDriver: cgroupfs }
    downloads:
      baseUrls: { cni-plugins: "${baseUrl}" }
      checksums: { cni-plugins: { "${PLUGINS_VERSION}": { amd64: "${checksum}" } } }
      cacheDir: ${work}/cache
    pools:
      - { name: c21, runtime: { kind: containerd, version: ${debianContainerdVersion("2.1")} } }
      - { name: c16, runtime: { kind: containerd, version: ${debianContainerdVersion("1.6")} } }
    nodes:
      - { name: testhost, pool: c21, address: 192.0.2.1 }
      - { name: testhost16, pool: c16, address: 192.0.2.2 }
  kubeplug:network:
    cni:
      binDir: ${work}/bin
      confDir: ${work}/ctrd/net.d
      plugins: { install: { from: release, version: ${PLUGINS_VERSION} } }
      conflists:
        - name: ${NETWORK}
          cniVersion: "1.0.0"
          plugins:
            - type: bridge
              bridge: ${BRIDGE}
              isGateway: true
              ipMasq: true
              ipam: { type: host-local, ranges: [[{ subnet: ${SUBNET} }]], dataDir: ${work}/ipam }
            - { type: portmap, capabilities: { portMappings: true } }
            - { type: bandwidth, capabilities: { bandwidth: true } }
            - { type: tuning, sysctl: { net.core.somaxconn: "${SOMAXCONN}" } }
`;
}

const timings: [string, number][] = [];
async function timed<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    const ms = Math.round(performance.now() - start);
    timings.push([label, ms]);
    console.log(`[cni.real] ${label}: ${ms} ms`);
  }
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const mode = (file: string) => (statSync(file).mode & 0o7777).toString(8).padStart(4, "0");

interface StepRun {
  status: number;
  stdout: string;
  stderr: string;
  result: { node: string; step: string; changed: string[]; restarted: string[] } | undefined;
}

/** Runs a rendered step as `pulumi up` does on a node: `bash <script>` as root, after the step library install its NodeLibrary runs first. */
function runStep(work: string, step: NodeStepSpec): StepRun {
  const library = spawnSync("bash", ["-c", libraryInstallCommand("stdin", "root", step.node.name)], { input: stepLibrary().installer, encoding: "utf8" });
  if (library.status !== 0) throw new Error(`the step library install exited with ${library.status}: ${library.stderr}`);
  const file = join(work, "steps", `${step.id}.sh`);
  mkdirSync(join(work, "steps"), { recursive: true });
  writeFileSync(file, step.script, { mode: 0o600 });
  const run = spawnSync("bash", [file], { encoding: "utf8" });
  const line = run.stdout.split("\n").filter((l) => l.startsWith("KUBEPLUG_RESULT ")).pop();
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr, result: line ? JSON.parse(line.slice("KUBEPLUG_RESULT ".length)) : undefined };
}

/** A command in a network namespace (containerd's, or a pod's), as text. */
function inNetns(netns: string, ...cmd: string[]): string {
  // stderr is kept from the test output (nft warns that iptables-nft manages the tables it lists).
  return execFileSync("nsenter", [`--net=${netns}`, ...cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

const grepLines = (text: string, re: RegExp) => text.split("\n").filter((l) => re.test(l));

describe.skipIf(skip)(`CNI through containerd's CRI plugin with kubeplug's binaries and conflist${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let work: string;
  let server: FileServer | undefined;
  let stack: LoadedStack;
  let steps: NodeStepSpec[];
  let sidLib: string;
  const existedBefore = new Map<string, boolean>();

  beforeAll(async () => {
    for (const p of [...KP_STATE_FILES, ...KP_STATE_DIRS]) existedBefore.set(p, existsSync(p));
    // Short: containerd's socket goes under it (107-byte limit).
    work = mkdtempSync("/tmp/kp-cni-");
    sidLib = join(extractDeb("sid", "containernetworking-plugins"), "usr/lib/cni");

    // The STAND-IN release tarball: upstream's flat layout, Debian sid's 1.9.1 binaries.
    const tarballSrc = join(work, "stand-in-src");
    mkdirSync(tarballSrc);
    for (const plugin of readdirSync(sidLib)) copyFileSync(join(sidLib, plugin), join(tarballSrc, plugin));
    writeFileSync(join(tarballSrc, "README.md"), "Stand-in for containernetworking/plugins v1.9.1: Debian sid's binaries in upstream's layout (kubeplug real test).\n");
    copyFileSync(join(sidLib, "../../share/doc/containernetworking-plugins/copyright"), join(tarballSrc, "LICENSE"));
    const tarball = join(work, "www", TARBALL);
    mkdirSync(join(tarball, ".."), { recursive: true });
    execFileSync("tar", ["--owner=0", "--group=0", "--numeric-owner", "-czf", tarball, "-C", tarballSrc, "."]);
    rmSync(tarballSrc, { recursive: true });

    server = await startFileServer(join(work, "www"), join(work, "file-server.log"));
    stack = parseStackFile("cni-real", stackYaml(work, `${server.url}/`, `sha256:${sha256(tarball)}`), "cni-real.yaml");
    const node = { name: "testhost", arch: "amd64" as const, pool: "c21" };
    steps = networkSteps(stack.config.network, node, stack.config.cluster.downloads).map(buildNodeStep);
  });

  afterAll(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    // kubeplug's own state, only what this test created: files first, then the directories if now empty.
    for (const p of KP_STATE_FILES) if (existedBefore.get(p) === false) rmSync(p, { force: true });
    for (const d of KP_STATE_DIRS) {
      if (existedBefore.get(d) === false && existsSync(d) && readdirSync(d).length === 0) rmdirSync(d);
    }
    console.log(`[cni.real] timings: ${timings.map(([l, ms]) => `${l} ${ms} ms`).join("; ")}`);
  });

  it("renders the two steps with the stand-in URL and checksum, the test dirs and every 1.9.1 plugin", () => {
    const [plugins, conflist] = steps;
    expect(plugins!.id).toBe("cni-plugins-install");
    expect(conflist!.id).toBe("cni-conflist");
    expect(plugins!.script).toContain(`KP_RELEASE_URL='${server!.url}/${TARBALL}'`);
    expect(plugins!.script).toContain(`KP_CNI_BIN_DIR='${work}/bin'`);
    expect(conflist!.script).toContain(`KP_CONFLISTS=('${work}/ctrd/net.d/10-${NETWORK}.conflist')`);
    expect(conflist!.script).toContain("KP_PLUGIN_TYPES=('bandwidth' 'bridge' 'host-local' 'portmap' 'tuning')");
    expect(conflist!.dependsOn).toEqual(["cni-plugins-install"]);
  });

  it("kubeplug's steps install the binaries and the conflist; a second run changes nothing", async () => {
    const binDir = join(work, "bin");
    const confDir = join(work, "ctrd", "net.d");
    const wanted = readdirSync(sidLib).sort();
    expect(wanted).toHaveLength(18);

    const first = await timed("cni-plugins-install step (first run)", () => runStep(work, steps[0]!));
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(first.result).toEqual({ node: "testhost", step: "cni-plugins-install", changed: wanted.map((p) => join(binDir, p)), restarted: [], skipped: [] });
    expect(server!.requests()).toEqual([{ method: "GET", path: `/${TARBALL}`, status: 200 }]);
    for (const p of wanted) {
      expect(mode(join(binDir, p)), p).toBe("0755");
      expect(sha256(join(binDir, p)), p).toBe(sha256(join(sidLib, p)));
    }
    // Only the binaries: README.md and LICENSE from the tarball stay out of binDir.
    expect(readdirSync(binDir).sort()).toEqual(wanted);

    const list = await timed("cni-conflist step (first run)", () => runStep(work, steps[1]!));
    expect(list.stderr).toBe("");
    expect(list.status).toBe(0);
    const conflistPath = join(confDir, `10-${NETWORK}.conflist`);
    expect(list.result).toEqual({ node: "testhost", step: "cni-conflist", changed: [conflistPath], restarted: [], skipped: [] });
    expect(readdirSync(confDir)).toEqual([`10-${NETWORK}.conflist`]);
    expect(mode(conflistPath)).toBe("0644");
    const rendered = renderConflists(stack.config.network, { name: "testhost", arch: "amd64", pool: "c21" });
    expect(readFileSync(conflistPath, "utf8")).toBe(rendered[0]!.content);
    expect(JSON.parse(readFileSync(conflistPath, "utf8"))).toEqual({
      name: NETWORK,
      cniVersion: "1.0.0",
      plugins: [
        { type: "bridge", bridge: BRIDGE, isGateway: true, ipMasq: true, ipam: { type: "host-local", ranges: [[{ subnet: SUBNET }]], dataDir: join(work, "ipam") } },
        { type: "portmap", capabilities: { portMappings: true } },
        { type: "bandwidth", capabilities: { bandwidth: true } },
        { type: "tuning", sysctl: { "net.core.somaxconn": SOMAXCONN } },
      ],
    });

    // The ownership records name exactly what the steps wrote, with its hash.
    expect(readFileSync("/var/lib/kubeplug/owned/cni-plugins-install.list", "utf8"))
      .toBe(wanted.map((p) => `${sha256(join(binDir, p))} ${join(binDir, p)}\n`).join(""));
    expect(readFileSync("/var/lib/kubeplug/owned/cni-conflist.list", "utf8")).toBe(`${sha256(conflistPath)} ${conflistPath}\n`);

    // Converged: nothing changes, and the verified tarball in the cache is not fetched again.
    const again = await timed("both steps (second run)", () => [runStep(work, steps[0]!), runStep(work, steps[1]!)]);
    expect(again.map((r) => [r.status, r.stderr])).toEqual([[0, ""], [0, ""]]);
    expect(again.map((r) => r.result)).toEqual([
      { node: "testhost", step: "cni-plugins-install", changed: [], restarted: [], skipped: [] },
      { node: "testhost", step: "cni-conflist", changed: [], restarted: [], skipped: [] },
    ]);
    expect(again.map((r) => r.stdout.includes("unchanged\n"))).toEqual([true, true]);
    expect(server!.requests()).toHaveLength(1);
    expect(readdirSync(binDir).filter((f) => f.includes(".kubeplug."))).toEqual([]);
  });

  // 2.1 first: the two daemons run one after the other in the same work dir, so they read the same conf dir.
  describe.each([
    ["containerd 2.1.9 (sid) with a v3 config", { line: "2.1" as const, pool: "c21" }],
    ["containerd 1.6.20 (bookworm) with a v2 config", { line: "1.6" as const, pool: "c16" }],
  ] as const)("%s", (_title, { line, pool }) => {
    let c: PrivateContainerd | undefined;
    let cri: CriClient | undefined;
    let configToml: string;
    let podId: string | undefined;
    let containerId: string | undefined;
    let podIp: string;
    let hostVeth: string;
    let ifb: string;

    beforeAll(async () => {
      const runtime = stack.config.cluster.pools.find((p) => p.name === pool)!.runtime;
      if (runtime.kind !== "containerd") throw new Error("expected a containerd pool");
      configToml = renderContainerd(runtime, { pool, cgroupDriver: stack.config.cluster.kubelet.cgroupDriver, cni: stack.config.network.cni }).configToml;
      // The private containerd moves conf_dir to <workDir>/net.d and bin_dir(s) to cniBinDir: with the work dir
      // and bin dir kubeplug's stack names, both rewrites leave kubeplug's values as rendered (checked below).
      c = await timed(`containerd ${line} start`, () =>
        startPrivateContainerd({ configToml, workDir: join(work, "ctrd"), binDir: containerdBinDir(line), cniBinDir: join(work, "bin") }));
      cri = new CriClient(c.address);
      await timed(`containerd ${line} image import`, () => importImages(c!.address, { pause: [sandboxImageOf(configToml)!] }, c!.ctr));
    });

    afterAll(async () => {
      cri?.close();
      await c?.stop();
    });

    it("runs with the CNI dirs exactly as kubeplug rendered them and reports the network ready", async () => {
      const section = (toml: string) => {
        const plugins = parse(toml).plugins as Record<string, Record<string, unknown>>;
        return plugins[line === "1.6" ? "io.containerd.grpc.v1.cri" : "io.containerd.cri.v1.runtime"]!.cni;
      };
      expect(section(readFileSync(c!.configPath, "utf8"))).toEqual(section(configToml));
      expect(section(configToml)).toEqual(line === "1.6"
        ? { bin_dir: join(work, "bin"), conf_dir: join(work, "ctrd/net.d") }
        : { bin_dirs: [join(work, "bin")], conf_dir: join(work, "ctrd/net.d") });
      const conditions = (await cri!.status()).status!.conditions;
      expect(conditions.find((cond) => cond.type === "NetworkReady")?.status).toBe(true);
    });

    it("ADD: the pod gets an address from the range, the hostPort DNAT, tbf qdiscs and the tuning sysctl", async () => {
      const sandbox: PodSandboxConfig & { portMappings: { protocol: string; containerPort: number; hostPort: number }[] } = {
        metadata: { name: `cni-${line}`, uid: `cni-${line}-uid`, namespace: "kp-test" },
        hostname: `cni-${line.replace(".", "-")}`,
        // containerd turns these into the bandwidth capability (kubelet's annotations; rate in bit/s).
        annotations: { "kubernetes.io/ingress-bandwidth": "1M", "kubernetes.io/egress-bandwidth": "1M" },
        portMappings: [{ protocol: "TCP", containerPort: 80, hostPort: HOST_PORT }],
        linux: { securityContext: { namespaceOptions: { network: "POD" } } },
      };
      podId = await timed(`containerd ${line} RunPodSandbox (CNI ADD)`, () => cri!.runPodSandbox(sandbox, "runc"));
      containerId = await cri!.createContainer(podId, { metadata: { name: "web" }, image: { image: BUSYBOX_IMAGE }, command: ["httpd", "-f", "-p", "80", "-h", "/etc"] }, sandbox);
      await cri!.startContainer(containerId);

      podIp = (await cri!.podSandboxStatus(podId)).network!.ip;
      console.log(`[cni.real] ${line}: pod ${podId.slice(0, 12)} ip ${podIp}`);
      expect(podIp).toMatch(/^10\.88\.77\.(\d+)$/);
      expect(Number(podIp.split(".")[3])).toBeGreaterThan(1); // .1 is the gateway
      expect(Number(podIp.split(".")[3])).toBeLessThan(255);

      // host-local's reservation in the dataDir kubeplug's list names: file = IP, first line = sandbox id.
      const reservation = join(work, "ipam", NETWORK, podIp);
      expect(readFileSync(reservation, "utf8").split(/\r?\n/)).toEqual([podId, "eth0"]); // host-local writes CRLF
      // libcni's cache: what containerd passed as capabilities, for this network and this sandbox.
      const cached = JSON.parse(readFileSync(`/var/lib/cni/results/${NETWORK}-${podId}-eth0`, "utf8"));
      console.log(`[cni.real] ${line}: libcni capabilityArgs ${JSON.stringify(cached.capabilityArgs)}`);
      // go-cni caches its own structs (Go field names); libcni maps them to runtimeConfig for the plugins.
      // 1M = 1,000,000 bit/s; containerd sets every burst to MaxUint32 bits.
      expect(cached.capabilityArgs.portMappings).toEqual([{ HostPort: HOST_PORT, ContainerPort: 80, Protocol: "tcp", HostIP: "" }]);
      expect(cached.capabilityArgs.bandwidth).toEqual({ IngressRate: 1_000_000, IngressBurst: 2 ** 32 - 1, EgressRate: 1_000_000, EgressBurst: 2 ** 32 - 1 });

      // In containerd's network namespace: the bridge with the gateway address, the pod's veth on it.
      const ns = c!.netns;
      expect(inNetns(ns, "ip", "-4", "-o", "addr", "show", "dev", BRIDGE)).toContain(`inet ${GATEWAY}/24`);
      const veths = inNetns(ns, "ip", "-o", "link", "show", "master", BRIDGE).split("\n").filter(Boolean).map((l) => l.split(": ")[1]!.split("@")[0]!);
      expect(veths).toHaveLength(1);
      hostVeth = veths[0]!;

      // portmap (iptables backend by default; this machine's iptables is iptables-nft, so nft shows it too).
      const saved = inNetns(ns, "iptables-save", "-t", "nat");
      const dnat = grepLines(saved, new RegExp(`--dport ${HOST_PORT} .*-j DNAT --to-destination ${podIp.replace(/\./g, "\\.")}:80$`));
      console.log(`[cni.real] ${line}: iptables-save DNAT: ${dnat.join(" | ")}`);
      expect(dnat).toHaveLength(1);
      expect(grepLines(saved, /^-A OUTPUT .*-j CNI-HOSTPORT-DNAT/).length).toBe(1);
      const masq = grepLines(saved, new RegExp(`^-A POSTROUTING -s ${podIp.replace(/\./g, "\\.")}/32 .*name: \\\\?"${NETWORK}\\\\?" id: \\\\?"${podId}\\\\?"`));
      console.log(`[cni.real] ${line}: iptables-save ipMasq: ${masq.join(" | ")}`);
      expect(masq).toHaveLength(1);
      const nftDnat = grepLines(inNetns(ns, "nft", "list", "ruleset"), new RegExp(`tcp dport ${HOST_PORT} .*dnat to ${podIp.replace(/\./g, "\\.")}:80`));
      console.log(`[cni.real] ${line}: nft DNAT: ${nftDnat.map((l) => l.trim()).join(" | ")}`);
      expect(nftDnat).toHaveLength(1);
      // And it forwards: the hostPort on the gateway address reaches busybox httpd in the pod.
      const served = await timed(`containerd ${line} curl via hostPort`, () =>
        inNetns(ns, "curl", "-sf", "--max-time", "10", `http://${GATEWAY}:${HOST_PORT}/group`));
      expect(served).toBe("root:x:0:\nnogroup:x:65534:\n");

      // bandwidth: tbf on the host veth shapes traffic into the pod; the pod's egress is redirected from the
      // veth's ingress qdisc to an ifb device (bwp<hash>) with its own tbf.
      const vethQdiscs = inNetns(ns, "tc", "qdisc", "show", "dev", hostVeth);
      console.log(`[cni.real] ${line}: tc qdisc show dev ${hostVeth}:\n${vethQdiscs.trimEnd()}`);
      expect(grepLines(vethQdiscs, /^qdisc tbf \S+ root .*rate 1Mbit /)).toHaveLength(1);
      expect(grepLines(vethQdiscs, /^qdisc ingress ffff: /)).toHaveLength(1);
      const ifbs = inNetns(ns, "ip", "-o", "link", "show", "type", "ifb").split("\n").filter(Boolean).map((l) => l.split(": ")[1]!);
      expect(ifbs).toHaveLength(1);
      ifb = ifbs[0]!;
      expect(ifb).toMatch(/^bwp[0-9a-f]+$/);
      const ifbQdiscs = inNetns(ns, "tc", "qdisc", "show", "dev", ifb);
      console.log(`[cni.real] ${line}: tc qdisc show dev ${ifb}:\n${ifbQdiscs.trimEnd()}`);
      expect(grepLines(ifbQdiscs, /^qdisc tbf \S+ root .*rate 1Mbit /)).toHaveLength(1);
      expect(inNetns(ns, "tc", "filter", "show", "dev", hostVeth, "ingress")).toContain(`Egress Redirect to device ${ifb}`);

      // tuning: the sysctl is set in the pod's own namespace (the sandbox task's), not in containerd's.
      const tasks = execFileSync(c!.ctr, ["--address", c!.address, "--namespace", "k8s.io", "task", "ls"], { encoding: "utf8" });
      const sandboxPid = Number(tasks.split("\n").find((l) => l.startsWith(`${podId} `))?.split(/\s+/)[1]);
      expect(sandboxPid).toBeGreaterThan(0);
      const podNetns = `/proc/${sandboxPid}/ns/net`;
      expect(inNetns(podNetns, "cat", "/proc/sys/net/core/somaxconn").trim()).toBe(SOMAXCONN);
      expect(inNetns(ns, "cat", "/proc/sys/net/core/somaxconn").trim()).not.toBe(SOMAXCONN);
      expect(inNetns(podNetns, "ip", "-4", "-o", "addr", "show", "dev", "eth0")).toContain(`inet ${podIp}/24`);
    });

    it("DEL on StopPodSandbox: the reservation, the DNAT and masquerade rules, the veth, ifb and qdiscs are gone", async () => {
      expect(podId).toBeDefined();
      await cri!.stopContainer(containerId!, 0);
      await cri!.removeContainer(containerId!);
      await timed(`containerd ${line} StopPodSandbox (CNI DEL)`, () => cri!.stopPodSandbox(podId!));

      const ns = c!.netns;
      expect(existsSync(join(work, "ipam", NETWORK, podIp))).toBe(false);
      expect(existsSync(`/var/lib/cni/results/${NETWORK}-${podId}-eth0`)).toBe(false);
      const saved = inNetns(ns, "iptables-save", "-t", "nat");
      expect(grepLines(saved, new RegExp(`${HOST_PORT}|${podIp.replace(/\./g, "\\.")}|${podId}`))).toEqual([]);
      expect(grepLines(inNetns(ns, "nft", "list", "ruleset"), new RegExp(`${HOST_PORT}|${podIp.replace(/\./g, "\\.")}`))).toEqual([]);
      expect(inNetns(ns, "ip", "-o", "link", "show", "master", BRIDGE).trim()).toBe("");
      expect(inNetns(ns, "ip", "-o", "link", "show", "type", "ifb").trim()).toBe("");
      expect(inNetns(ns, "ip", "-o", "link", "show").split("\n").filter((l) => l.includes(hostVeth) || l.includes(ifb))).toEqual([]);
      expect(grepLines(inNetns(ns, "tc", "qdisc", "show"), /tbf|ingress/)).toEqual([]);
      // The bridge stays, as on a node: DEL removes only the pod's attachment.
      expect(inNetns(ns, "ip", "-4", "-o", "addr", "show", "dev", BRIDGE)).toContain(`inet ${GATEWAY}/24`);

      await cri!.removePodSandbox(podId!);
      expect(await cri!.listPodSandbox()).toEqual([]);
    });
  });
});
