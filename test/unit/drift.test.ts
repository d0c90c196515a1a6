import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "../../src/cli/drift";
import { compareNode, describeFinding, NodeDrift, nodeDrift } from "../../src/drift/compare";
import { ExpectedNode, expectedState } from "../../src/drift/expected";
import { exitCode, formatReport } from "../../src/drift/format";
import { parseProbe, probeScript, ProbeReport } from "../../src/drift/probe";
import { knownHostsLines, sshArgs } from "../../src/drift/ssh";
import { planCluster } from "../../src/plan/cluster-plan";
import { loadStack } from "../../src/plan/stack-files";
import { sha256 } from "../../src/util/hash";

const ROOT = join(__dirname, "..", "..");
const CONFIG = "/etc/containerd/config.toml";
const HOSTS = "/etc/containerd/certs.d/docker.io/hosts.toml";
const PLUGIN = "/opt/cni/bin/bridge";
const STARTED = 1_700_000_000;

const expected: ExpectedNode = {
  node: "node1",
  connection: { host: "10.0.0.1", port: 22, user: "root", hostKeyCheck: "unchecked" },
  steps: ["containerd-configure", "cni-plugins-install"],
  files: [
    { path: CONFIG, step: "containerd-configure", content: { kind: "exact", sha256: sha256("config") }, mode: 0o644, owner: "root:root" },
    { path: HOSTS, step: "containerd-configure", content: { kind: "exact", sha256: sha256("hosts") }, mode: 0o644, owner: "root:root" },
    { path: PLUGIN, step: "cni-plugins-install", content: { kind: "recorded" }, mode: 0o755, owner: "root:root" },
  ],
  packages: [{ name: "containerd", version: "2.1.9*" }],
  units: [{ name: "containerd", binary: "containerd", version: "2.1.9", restartFiles: [CONFIG] }],
};

/** The probe's own lines for a converged node, with `edit` applied to them. */
function report(edit: (lines: string[]) => string[] = (l) => l): string {
  const lines = [
    `owned\tcontainerd-configure\t${sha256("config")}\t${CONFIG}`,
    `owned\tcontainerd-configure\t${sha256("hosts")}\t${HOSTS}`,
    `owned\tcni-plugins-install\t${sha256("bridge")}\t${PLUGIN}`,
    `owned\tcni-plugins-install\t${sha256("crictl")}\t/usr/local/bin/crictl`,
    `receipt\tcrictl-install\t${sha256("crictl")}\t755\troot:root\t/usr/local/bin/crictl`,
    `file\t${CONFIG}\tfile\t${sha256("config")}\t644\troot:root\t${STARTED - 10}`,
    `file\t${HOSTS}\tfile\t${sha256("hosts")}\t644\troot:root\t${STARTED + 50}`,
    `file\t${PLUGIN}\tfile\t${sha256("bridge")}\t755\troot:root\t${STARTED - 10}`,
    `file\t/usr/local/bin/crictl\tfile\t${sha256("crictl")}\t755\troot:root\t${STARTED - 10}`,
    "package\tcontainerd\tinstalled\t2.1.9~ds1-1",
    `unit\tcontainerd\tactive\tenabled\t${STARTED}\tcontainerd github.com/containerd/containerd/v2 2.1.9~ds1 2.1.9~ds1-1`,
    "end",
  ];
  return `${edit(lines).join("\n")}\n`;
}

const replace = (prefix: string, line: string) => (lines: string[]) => lines.map((l) => (l.startsWith(prefix) ? line : l));
function probed(edit?: (lines: string[]) => string[]): ProbeReport {
  const parsed = parseProbe(report(edit));
  if ("invalid" in parsed) throw new Error(parsed.invalid);
  return parsed;
}
const messages = (edit?: (lines: string[]) => string[]) => compareNode(expected, probed(edit)).map(describeFinding);

describe("drift comparer", () => {
  it("finds nothing on a converged node (a file without a restart need may be newer than the start)", () => {
    expect(compareNode(expected, probed())).toEqual([]);
  });

  it.each([
    ["a hand edit", replace(`file\t${HOSTS}`, `file\t${HOSTS}\tfile\t${sha256("edited")}\t644\troot:root\t${STARTED - 10}`), `${HOSTS}: changed outside kubeplug (sha256 ${sha256("edited").slice(0, 12)}, kubeplug's is ${sha256("hosts").slice(0, 12)})`],
    ["a deleted file", replace(`file\t${HOSTS}`, `file\t${HOSTS}\tmissing\t-\t-\t-\t-`), `${HOSTS}: missing`],
    ["a directory where a file should be", replace(`file\t${HOSTS}`, `file\t${HOSTS}\tother\t-\t-\t-\t-`), `${HOSTS}: not a regular file`],
    ["a changed binary (recorded hash)", replace(`file\t${PLUGIN}`, `file\t${PLUGIN}\tfile\t${sha256("other")}\t755\troot:root\t1`), `${PLUGIN}: changed outside kubeplug (sha256 ${sha256("other").slice(0, 12)}, kubeplug's is ${sha256("bridge").slice(0, 12)})`],
    ["a deleted file only an ownership list names", replace("file\t/usr/local/bin/crictl", "file\t/usr/local/bin/crictl\tmissing\t-\t-\t-\t-"), "/usr/local/bin/crictl: missing"],
    ["a different mode", replace(`file\t${PLUGIN}`, `file\t${PLUGIN}\tfile\t${sha256("bridge")}\t700\troot:root\t1`), `${PLUGIN}: mode 0700, should be 0755`],
    ["a binary's mode other than its install receipt's", replace("file\t/usr/local/bin/crictl", `file\t/usr/local/bin/crictl\tfile\t${sha256("crictl")}\t700\troot:root\t1`), "/usr/local/bin/crictl: mode 0700, should be 0755"],
    ["a binary's owner other than its install receipt's", replace("file\t/usr/local/bin/crictl", `file\t/usr/local/bin/crictl\tfile\t${sha256("crictl")}\t755\tadmin:root\t1`), "/usr/local/bin/crictl: owner admin:root, should be root:root"],
    ["a different owner", replace(`file\t${CONFIG}`, `file\t${CONFIG}\tfile\t${sha256("config")}\t644\tadmin:root\t1`), `${CONFIG}: owner admin:root, should be root:root`],
    ["a different package version", replace("package", "package\tcontainerd\tinstalled\t1.6.20~ds1-1+deb12u1"), "package containerd: 1.6.20~ds1-1+deb12u1, the stack pins 2.1.9*"],
    ["a removed package", replace("package", "package\tcontainerd\tnot-installed\t-"), "package containerd: not installed, the stack pins 2.1.9*"],
    ["a package removed but not purged", replace("package", "package\tcontainerd\tconfig-files\t2.1.9~ds1-1"), "package containerd: not installed, the stack pins 2.1.9*"],
    ["a different daemon version", replace("unit", `unit\tcontainerd\tactive\tenabled\t${STARTED}\tcontainerd github.com/containerd/containerd v2.2.0 abc`), "containerd: version 2.2.0, the config is rendered for 2.1.9"],
    ["a missing daemon binary", replace("unit", `unit\tcontainerd\tactive\tenabled\t${STARTED}\t-`), "containerd: version unknown (binary not found), the config is rendered for 2.1.9"],
    ["a stopped daemon", replace("unit", "unit\tcontainerd\tinactive\tenabled\t0\tcontainerd x 2.1.9"), "unit containerd: inactive, should be active"],
    ["a disabled unit", replace("unit", `unit\tcontainerd\tactive\tdisabled\t${STARTED}\tcontainerd x 2.1.9`), "unit containerd: disabled, should be enabled"],
    ["a config newer than the daemon's start", replace(`file\t${CONFIG}`, `file\t${CONFIG}\tfile\t${sha256("config")}\t644\troot:root\t${STARTED + 1}`), `unit containerd: restart pending: ${CONFIG} changed after containerd started`],
    ["a restart marker an apply left", (l: string[]) => [...l.slice(0, -1), "pending\tcontainerd\trestart", "end"], "unit containerd: restart pending: an apply recorded a restart that has not happened yet"],
    ["a reload marker an apply left", (l: string[]) => [...l.slice(0, -1), "pending\tcontainerd\treload", "end"], "unit containerd: restart pending: an apply recorded a reload that has not happened yet"],
  ])("finds %s", (_name, edit, message) => {
    expect(messages(edit)).toEqual([message]);
  });

  it("takes a recorded file kubeplug has not recorded yet (never applied) as present, without a reference for its bytes", () => {
    expect(messages((l) => l.filter((line) => !line.startsWith(`owned\tcni-plugins-install\t${sha256("bridge")}`)))).toEqual([]);
  });

  it("gives statuses: clean, drift, unreachable (no findings), failed (not root; a report cut short)", () => {
    expect(nodeDrift(expected, { kind: "report", report: probed() }, 5)).toEqual({ node: "node1", status: "clean", findings: [], ms: 5 });
    expect(nodeDrift(expected, { kind: "report", report: probed(replace("unit", "unit\tcontainerd\tfailed\tenabled\t0\tcontainerd x 2.1.9")) }, 5).status).toBe("drift");
    expect(nodeDrift(expected, { kind: "unreachable", reason: "ssh: connect to host 10.0.0.1 port 22: No route to host" }, 5)).toEqual({ node: "node1", status: "unreachable", findings: [], reason: "ssh: connect to host 10.0.0.1 port 22: No route to host", ms: 5 });
    const notRoot = parseProbe("error\tthe probe must run as root (the login user needs passwordless sudo)\n");
    expect(nodeDrift(expected, { kind: "report", report: notRoot as ProbeReport }, 5)).toMatchObject({ status: "failed", reason: "the probe must run as root (the login user needs passwordless sudo)" });
    expect(parseProbe(report((l) => l.slice(0, -1)))).toEqual({ invalid: "the report ends before its end line (the session was cut?)" });
  });
});

const sample = (): NodeDrift[] => [
  { node: "node1", status: "drift", findings: [{ kind: "unit-inactive", unit: "containerd", actual: "inactive" }, { kind: "file-missing", path: "/opt/cni/bin/a|b" }], ms: 120 },
  { node: "node2", status: "clean", findings: [], ms: 110 },
  { node: "node3", status: "unreachable", findings: [], reason: "ssh: connect to host 10.0.0.3 port 22: No route to host", ms: 3000 },
];

describe("drift formats and exit codes", () => {
  it("text", () => {
    expect(formatReport({ stack: "dev", nodes: sample() }, "text")).toBe(
      [
        "drift check of stack dev: 3 node(s), 1 drifted, 1 unreachable, 1 clean",
        "node1: drift (2)",
        "  unit containerd: inactive, should be active",
        "  /opt/cni/bin/a|b: missing",
        "node2: clean",
        "node3: unreachable: ssh: connect to host 10.0.0.3 port 22: No route to host",
        "",
      ].join("\n"),
    );
  });

  it("markdown, with | escaped in cells", () => {
    expect(formatReport({ stack: "dev", nodes: sample() }, "markdown")).toBe(
      [
        "**drift check of stack dev: 3 node(s), 1 drifted, 1 unreachable, 1 clean**",
        "",
        "| node | status | finding |",
        "|---|---|---|",
        "| node1 | drift | unit containerd: inactive, should be active |",
        "| node1 | drift | /opt/cni/bin/a\\|b: missing |",
        "| node2 | clean | |",
        "| node3 | unreachable: ssh: connect to host 10.0.0.3 port 22: No route to host | |",
        "",
      ].join("\n"),
    );
  });

  it("json: every finding with its message, and the exit code", () => {
    const parsed = JSON.parse(formatReport({ stack: "dev", nodes: sample() }, "json"));
    expect(parsed.exitCode).toBe(2);
    expect(parsed.nodes[0].findings[0]).toEqual({ kind: "unit-inactive", unit: "containerd", actual: "inactive", message: "unit containerd: inactive, should be active" });
    expect(parsed.nodes[2]).toEqual({ node: "node3", status: "unreachable", findings: [], reason: "ssh: connect to host 10.0.0.3 port 22: No route to host", ms: 3000 });
  });

  it("exits 2 on drift, 3 when nothing drifted but a node was not checked, 0 when clean", () => {
    const [drift, clean, unreachable] = sample();
    expect(exitCode({ stack: "s", nodes: [drift!, unreachable!] })).toBe(2);
    expect(exitCode({ stack: "s", nodes: [clean!, unreachable!] })).toBe(3);
    expect(exitCode({ stack: "s", nodes: [clean!] })).toBe(0);
  });
});

describe("drift CLI arguments", () => {
  it.each([
    [["--stack", "dev", "--format", "yaml"], '--format "yaml" is not a format; use one of text, json, markdown'],
    [["--format", "json"], "--stack is required"],
    [["--stack", "dev", "--nodes", "x"], "Unknown option '--nodes'"],
  ])("%j is refused (64) with: %s", (argv, message) => {
    const parsed = parseCliArgs(argv);
    expect(parsed).toMatchObject({ code: 64 });
    expect((parsed as { usage: string }).usage.split("\n")[0]).toContain(message);
  });

  it("takes a stack, a node and a format; text by default", () => {
    expect(parseCliArgs(["--stack", "dev"])).toEqual({ stack: "dev", format: "text" });
    expect(parseCliArgs(["--stack", "dev", "--node", "node2", "--format", "markdown"])).toEqual({ stack: "dev", node: "node2", format: "markdown" });
  });
});

describe("drift expectations, probe script and SSH options", () => {
  const dev = loadStack(ROOT, "dev").config;
  const nodes = expectedState(dev, planCluster(dev));

  it("expects the dev stack's files, packages and unit from its plan", () => {
    const node1 = nodes.find((n) => n.node === "node1")!;
    expect(node1.packages).toEqual([{ name: "containerd", version: "1.6.20*" }, { name: "containernetworking-plugins", version: "1.1.1*" }]);
    expect(node1.units).toEqual([{ name: "containerd", binary: "containerd", version: "1.6.20", restartFiles: [CONFIG] }]);
    expect(node1.files.filter((f) => f.path.startsWith("/opt/cni/bin/")).map((f) => [f.path, f.content.kind, f.mode])).toEqual(["bridge", "host-local", "loopback", "portmap"].map((p) => [`/opt/cni/bin/${p}`, "recorded", 0o755]));
    expect(node1.files.find((f) => f.path === "/etc/containerd/certs.d/docker.io/hosts.toml")?.content.kind).toBe("exact");
  });

  it("sends the expectations as bash arrays before the probe", () => {
    const script = probeScript(nodes[0]!);
    expect(script).toContain("KP_PROBE_UNITS=('containerd=containerd')");
    expect(script).toContain("KP_PROBE_PACKAGES=('containerd' 'containernetworking-plugins')");
    expect(script).toMatch(/\n#!\/usr\/bin\/env bash\nset -euo pipefail\n/);
  });

  it("pins the node's and the bastion's host keys and goes through the bastion with its own options", () => {
    const connection = {
      host: "10.0.0.5", port: 2222, user: "ops", privateKeyPath: "keys/node", hostKeyCheck: "pinned" as const, hostKey: "ssh-ed25519 AAAAnode",
      bastion: { host: "bastion.example.com", port: 22, user: "jump", agent: true, hostKeyCheck: "pinned" as const, hostKey: "ssh-ed25519 AAAAbastion" },
    }; // prettier-ignore
    expect(knownHostsLines(connection)).toEqual(["[10.0.0.5]:2222 ssh-ed25519 AAAAnode", "bastion.example.com ssh-ed25519 AAAAbastion"]);
    const args = sshArgs(connection, "/tmp/kh", { projectDir: "/proj", homeDir: "/home/me" }, ["sudo", "-n", "bash", "-s"]);
    expect(args.join(" ")).toContain("-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/tmp/kh -i /proj/keys/node -o IdentitiesOnly=yes -p 2222 -l ops");
    expect(args).toContain("ProxyCommand=ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/tmp/kh -p 22 -l jump -W %h:%p bastion.example.com");
    expect(args.slice(-6)).toEqual(["10.0.0.5", "--", "sudo", "-n", "bash", "-s"]);
  });
});
