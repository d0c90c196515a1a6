import { describe, expect, it } from "vitest";
import { KubeplugConfigError } from "../../src/errors";
import { clusterPrepare, nodePrepareSettings, sysctlKey, moduleName, sysctlValue } from "../../src/config/node-prepare";
import { validateStackConfig } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";
import { planRuntimeComponent } from "../../src/plan/component-plans";
import { MODULES_LOAD_FILE, nodePrepareStep, renderPrepare, SYSCTL_FILE } from "../../src/components/node/prepare-steps";
import { buildNodeStep } from "../../src/components/node/step";
import { renderCrictlYaml } from "../../src/components/runtime/crictl-steps";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2staG9zdC1rZXktZ29sZGVuLi4uLi4uLi4uLi4u";

/** A one-node containerd stack with `cluster` merged into kubeplug:cluster and `pool` into its pool. */
function stack(cluster: Record<string, unknown> = {}, pool: Record<string, unknown> = {}, runtime: Record<string, unknown> = {}, network?: Record<string, unknown>) {
  return {
    "kubeplug:cluster": {
      name: "t",
      ssh: { privateKeyPath: "k", hostKey: HOST_KEY },
      pools: [{ name: "p", runtime: { kind: "containerd", version: "2.1.9", ...runtime }, ...pool }],
      nodes: [{ name: "n1", pool: "p", address: "192.0.2.1" }],
      ...cluster,
    },
    ...(network ? { "kubeplug:network": network } : {}),
  };
}

function problems(values: Record<string, unknown>): string[] {
  try {
    planCluster(validateStackConfig("t", values).config);
  } catch (error) {
    if (error instanceof KubeplugConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

const issue = (schema: { safeParse: (v: unknown) => { success: boolean; error?: { issues: { message: string }[] } } }, value: unknown) => {
  const result = schema.safeParse(value);
  return result.success ? undefined : result.error!.issues[0]!.message;
};

describe("sysctl keys, values and module names", () => {
  it.each(["net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables", "net.ipv4.conf.*.rp_filter", "net.ipv4.conf.eth0.forwarding", "fs.inotify.max_user_watches", "vm.max_map_count"])("accepts %s", (key) => {
    expect(issue(sysctlKey, key)).toBeUndefined();
  });

  it.each([
    ["net/ipv4/ip_forward", '"net/ipv4/ip_forward" is not a sysctl key: write it with dots, as `sysctl -a` prints it ("net/ipv4/ip_forward" is "net.ipv4.ip_forward")'],
    ["-net.ipv4.ip_forward", '"-net.ipv4.ip_forward" is not a sysctl key: sysctl.d\'s "-" prefix (ignore failures) is not offered, since kubeplug reports every key it cannot set'],
    ["somaxconn", '"somaxconn" is not a sysctl key: a sysctl has at least two dot-separated parts'],
    ["Net.ipv4.ip_forward", '"Net.ipv4.ip_forward" is not a sysctl key: dot-separated parts such as "net.ipv4.ip_forward": letters, digits, "_", "-", and "*" within a part'],
    ["net..ip_forward", '"net..ip_forward" is not a sysctl key: dot-separated parts such as "net.ipv4.ip_forward": letters, digits, "_", "-", and "*" within a part'],
    ["net.ipv4.ip_forward = 1", '"net.ipv4.ip_forward = 1" is not a sysctl key: dot-separated parts such as "net.ipv4.ip_forward": letters, digits, "_", "-", and "*" within a part'],
  ])("refuses the key %j", (key, message) => {
    expect(issue(sysctlKey, key)).toBe(message);
  });

  it("takes numbers and one-line strings as values, refuses empty, multi-line and non-scalar ones", () => {
    expect(sysctlValue.parse(1)).toBe("1");
    expect(sysctlValue.parse("32768 60999")).toBe("32768 60999");
    expect(issue(sysctlValue, "")).toBe("is empty: a sysctl needs a value");
    expect(issue(sysctlValue, "  ")).toBe("is empty: a sysctl needs a value");
    expect(issue(sysctlValue, "1\n2")).toBe("spans lines: a sysctl value is one line");
    expect(issue(sysctlValue, true)).toBe("expected a number or a string, got boolean true");
  });

  it.each([
    ["../ip_vs", '"../ip_vs" is not a kernel module name: a module name has no "/": modprobe and modules-load.d take names, not paths to .ko files'],
    ["kernel/net/ip_vs.ko", '"kernel/net/ip_vs.ko" is not a kernel module name: a module name has no "/": modprobe and modules-load.d take names, not paths to .ko files'],
    ["ip_vs.ko", '"ip_vs.ko" is not a kernel module name: letters, digits, "_" and "-", e.g. "ip_vs"'],
    ["", '"" is not a kernel module name: letters, digits, "_" and "-", e.g. "ip_vs"'],
  ])("refuses the module %j", (name, message) => {
    expect(issue(moduleName, name)).toBe(message);
  });

  it("defaults to no extra modules or sysctls", () => {
    expect(clusterPrepare.parse({})).toEqual({ modules: [], sysctls: {} });
  });
});

describe("stack validation", () => {
  it("names the field path and the value of every problem, all at once", () => {
    expect(
      problems(
        stack(
          { prepare: { modules: ["a/b"], sysctls: { "net/core/somaxconn": 1, "net.ipv4.ip_forward": 0 } }, kubelet: { memorySwap: { swapBehavior: "LimitedSwap" } } },
          { prepare: { sysctls: { "net.bridge.bridge-nf-call-iptables": "0" } } },
        ),
      ),
    ).toEqual([
      'kubeplug:cluster.prepare.modules[0]: "a/b" is not a kernel module name: a module name has no "/": modprobe and modules-load.d take names, not paths to .ko files',
      'kubeplug:cluster.prepare.sysctls["net/core/somaxconn"]: "net/core/somaxconn" is not a sysctl key: write it with dots, as `sysctl -a` prints it ("net/ipv4/ip_forward" is "net.ipv4.ip_forward")',
    ]);
    expect(problems(stack({ prepare: { sysctls: { "net.ipv4.ip_forward": 0 } }, kubelet: { memorySwap: { swapBehavior: "LimitedSwap" } } }, { prepare: { sysctls: { "net.bridge.bridge-nf-call-iptables": "0" } } }))).toEqual([
      'kubeplug:cluster.kubelet.memorySwap.swapBehavior: "LimitedSwap" lets pods use swap, but failSwapOn: true makes the kubelet refuse to start on a node with swap; set failSwapOn: false',
      'kubeplug:cluster.prepare.sysctls["net.ipv4.ip_forward"]: "0": Kubernetes needs net.ipv4.ip_forward = 1 on every node, which kubeplug sets; remove the key',
      'kubeplug:cluster.pools[0].prepare.sysctls["net.bridge.bridge-nf-call-iptables"]: "0": Kubernetes needs net.bridge.bridge-nf-call-iptables = 1 on every node, which kubeplug sets; remove the key',
    ]);
  });

  it("accepts a required sysctl restated with its own value, and swap settings that agree", () => {
    expect(problems(stack({ prepare: { sysctls: { "net.ipv4.ip_forward": 1 } }, kubelet: { failSwapOn: false, memorySwap: { swapBehavior: "LimitedSwap" } } }))).toEqual([]);
  });

  it("refuses an unknown prepare key of a pool with a suggestion", () => {
    expect(problems(stack({}, { prepare: { module: ["ip_vs"] } }))).toEqual(['kubeplug:cluster.pools[0].prepare.module: unknown key; did you mean "modules"?']);
  });

  it("refuses a crictl release without a checksum and an unknown source", () => {
    expect(problems(stack({}, {}, { crictl: { from: "release", version: "1.29.0" } }))).toEqual([
      "kubeplug:cluster.pools[0].runtime.crictl.version: crictl 1.29.0 for amd64 has no checksum in kubeplug's catalog (kubespray 46dbdd39); add it as kubeplug:cluster.downloads.checksums.crictl[\"1.29.0\"].amd64",
    ]);
    expect(problems(stack({}, {}, { crictl: { from: "apt" } }))).toEqual(['kubeplug:cluster.pools[0].runtime.crictl.from: unknown from "apt"; expected one of: release, preinstalled, none']);
  });
});

describe("merged settings and rendering", () => {
  it("merges the pool over the cluster: modules added (canonical, once), sysctls key by key; required first, the rest sorted", () => {
    const settings = nodePrepareSettings({
      cluster: { modules: ["ip_vs", "overlay"], sysctls: { "vm.max_map_count": "262144", "fs.inotify.max_user_instances": "1024" } },
      pool: { modules: ["ip-vs"], sysctls: { "fs.inotify.max_user_instances": "8192" } },
      kubelet: { failSwapOn: true },
    });
    expect(settings).toEqual({
      modules: ["overlay", "br_netfilter", "ip_vs"],
      sysctls: [
        ["net.ipv4.ip_forward", "1"],
        ["net.bridge.bridge-nf-call-iptables", "1"],
        ["net.bridge.bridge-nf-call-ip6tables", "1"],
        ["fs.inotify.max_user_instances", "8192"],
        ["vm.max_map_count", "262144"],
      ],
      failSwapOn: true,
    });
  });

  it("adds IPv6 forwarding for an IPv6 pod network, and swapBehavior NoSwap when failSwapOn is false without memorySwap", () => {
    const plan = planCluster(validateStackConfig("t", stack({ kubelet: { failSwapOn: false } }, {}, {}, { podCIDR: "fd00:10:244::/56" })).config);
    const step = plan.nodes[0]!.steps[0]!;
    expect(step.id).toBe("node-prepare");
    expect(step.files.find((f) => f.path === SYSCTL_FILE)!.content).toContain("\nnet.ipv6.conf.all.forwarding = 1\n");
    expect(step.script).toContain("KP_FAIL_SWAP_ON='0'\nKP_SWAP_BEHAVIOR='NoSwap'\n");
  });

  it("renders the two owned files exactly, globs before explicit keys (sysctl.d lets explicit keys win)", () => {
    const rendered = renderPrepare({ modules: ["overlay", "br_netfilter"], sysctls: [["net.ipv4.ip_forward", "1"], ["net.ipv4.conf.*.rp_filter", "0"], ["net.ipv4.conf.eth0.rp_filter", "1"]], failSwapOn: true });
    expect(rendered.modulesLoad).toEqual({ path: MODULES_LOAD_FILE, mode: 0o644, content: "# Managed by kubeplug (node-prepare): kernel modules the container runtime and the pod network need.\noverlay\nbr_netfilter\n" });
    expect(rendered.sysctlConf).toEqual({
      path: SYSCTL_FILE,
      mode: 0o644,
      content: "# Managed by kubeplug (node-prepare): sysctls Kubernetes and this stack need.\nnet.ipv4.conf.*.rp_filter = 0\nnet.ipv4.ip_forward = 1\nnet.ipv4.conf.eth0.rp_filter = 1\n",
    });
  });

  it("tells the script how to see built-in modules and which sysctls go with which module, for the modules it knows", () => {
    const spec = buildNodeStep(nodePrepareStep({ name: "n1", arch: "amd64" }, { modules: ["overlay", "br_netfilter", "dummy"], sysctls: [["net.ipv4.ip_forward", "1"]], failSwapOn: true }));
    expect(spec.script).toContain("KP_MODULE_EVIDENCE=('overlay=filesystem:overlay' 'br_netfilter=/proc/sys/net/bridge')\n");
    expect(spec.script).toContain("KP_SYSCTL_MODULES=('net.bridge.=br_netfilter')\n");
    expect(spec.script).toContain("KP_MODULES=('overlay' 'br_netfilter' 'dummy')\n");
  });
});

describe("step order and crictl", () => {
  it("runs node-prepare first; every install step depends on it; configure stays last", () => {
    const steps = planCluster(validateStackConfig("t", stack()).config).nodes[0]!.steps.filter((s) => s.group === "runtime");
    expect(steps.map((s) => [s.id, s.dependsOn])).toEqual([
      ["node-prepare", []],
      ["oci-runtimes-install", ["node-prepare"]],
      ["containerd-install", ["node-prepare"]],
      ["crictl-install", ["node-prepare"]],
      ["containerd-configure", ["oci-runtimes-install", "containerd-install"]],
    ]);
  });

  it("installs crictl from the pinned release with its catalog checksum, and points crictl.yaml at the pool's socket", () => {
    const step = planCluster(validateStackConfig("t", stack({}, {}, { address: "/run/c/c.sock" })).config).nodes[0]!.steps.find((s) => s.id === "crictl-install")!;
    expect(step.script).toContain("KP_CRICTL_URL='https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.36.0/crictl-v1.36.0-linux-amd64.tar.gz'\n");
    expect(step.script).toMatch(/KP_CRICTL_CHECKSUM='sha256:[0-9a-f]{64}'\n/);
    expect(step.files).toEqual([renderCrictlYaml("unix:///run/c/c.sock")]);
    expect(step.files[0]!.content).toBe("# Managed by kubeplug.\nruntime-endpoint: unix:///run/c/c.sock\nimage-endpoint: unix:///run/c/c.sock\ntimeout: 10\n");
  });

  it("leaves crictl out with from: none, and a CRI-O pool keeps its own crictl.yaml (crio-configure)", () => {
    const ids = (values: Record<string, unknown>) => planCluster(validateStackConfig("t", values).config).nodes[0]!.steps.map((s) => s.id);
    expect(ids(stack({}, {}, { crictl: { from: "none" } }))).not.toContain("crictl-install");
    const crio = stack({}, {}, {});
    (crio["kubeplug:cluster"].pools[0] as { runtime: unknown }).runtime = { kind: "crio", version: "1.36.3" };
    expect(ids(crio).slice(0, 4)).toEqual(["node-prepare", "oci-runtimes-install", "crio-install", "crio-configure"]);
  });

  it("a standalone ContainerdRuntime takes prepare and kubeletSwap, with errors rooted at their own names", () => {
    const nodes = [{ name: "x", connection: { host: "192.0.2.1", hostKey: HOST_KEY } }];
    const plan = planRuntimeComponent("containerd", "c", nodes, { config: { version: "2.1.9" }, prepare: { modules: ["ip_vs"] } });
    expect(plan.nodes[0]!.steps[0]!.script).toContain("KP_MODULES=('overlay' 'br_netfilter' 'ip_vs')\n");
    expect(() => planRuntimeComponent("containerd", "c", nodes, { config: { version: "2.1.9" }, prepare: { sysctls: { "net.ipv4.ip_forward": 0 } }, kubeletSwap: { memorySwap: { swapBehavior: "LimitedSwap" } } })).toThrow(
      'invalid kubeplug configuration (2 problems):\n  prepare.sysctls["net.ipv4.ip_forward"]: "0": Kubernetes needs net.ipv4.ip_forward = 1 on every node, which kubeplug sets; remove the key\n  kubelet.memorySwap.swapBehavior: "LimitedSwap" lets pods use swap, but failSwapOn: true makes the kubelet refuse to start on a node with swap; set failSwapOn: false',
    );
  });
});
