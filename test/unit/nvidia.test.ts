import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, describe, expect, it } from "vitest";
import { containerdFeatures } from "../../src/catalog/containerd-features";
import { CRIO_CDI_MIN, SUPPORTED_CRIO_LINES } from "../../src/catalog/crio-features";
import { aptSourcesFile, NVIDIA_APT_KEYRING } from "../../src/components/runtime/nvidia-steps";
import { parseStackFile } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";
import { versionAtLeast } from "../../src/util/version";
import { hasCommand } from "../support/tools";
import { planGoldenCase } from "../support/golden-cases";
import { onePoolStack } from "../support/stack-yaml";

const SCRIPT = join(__dirname, "..", "..", "src", "components", "runtime", "scripts", "nvidia-toolkit-install.sh");
const KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBstandin\n-----END PGP PUBLIC KEY BLOCK-----\n";

function stack(runtime: string): string {
  return onePoolStack({ name: "t", pool: "gpu", node: "gpu1", runtime });
}

function plan(runtime: string) {
  const { config, warnings } = parseStackFile("t", stack(runtime), "t.yaml");
  return { ...planCluster(config), warnings };
}

describe("nvidia engine", () => {
  it.each(["nvidia-containerd-v2-1.7", "nvidia-containerd-v3", "nvidia-crio"])("%s: an nvidia RuntimeClass on the GPU pool's nodes, and the toolkit step right after node-prepare", (name) => {
    const p = planGoldenCase(name);
    const nvidia = p.runtimeClasses.find((c) => c.name === "nvidia");
    expect(nvidia?.handler).toBe("nvidia");
    expect(nvidia?.nodes).toEqual(["gpu1"]);
    const steps = p.nodes[0]!.steps;
    expect(steps.slice(0, 2).map((s) => s.id)).toEqual(["node-prepare", "nvidia-toolkit-install"]);
    const oci = steps.find((s) => s.id === "oci-runtimes-install")!;
    expect(oci.dependsOn).toContain("nvidia-toolkit-install");
    // The toolkit comes from its own repository, in its own step: the runtimes step does not apt-get it.
    expect(oci.script).not.toMatch(/KP_PACKAGES=\([^)]*nvidia-container-toolkit/);
    expect(steps[1]!.script).toMatch(/KP_PACKAGES=\('nvidia-container-toolkit(=1\.17\.8-1)?'\)/);
  });

  it.each([["1.7.24", "io.containerd.grpc.v1.cri"], ["2.1.9", "io.containerd.cri.v1.runtime"], ["2.3.4", "io.containerd.cri.v1.runtime"]])(
    "containerd %s: enable_cdi and cdi_spec_dirs on %s, nvidia-container-runtime as BinaryName",
    (version, plugin) => {
      const p = plan(`kind: containerd
version: ${version}
runtimes:
  runc: { engine: runc }
  nvidia: { engine: nvidia, install: { from: preinstalled, path: /usr/bin/nvidia-container-runtime } }`);
      const toml = parse(p.pools[0]!.containerd!.configToml) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(containerdFeatures(version)!.criRuntimePlugin).toBe(plugin);
      expect(toml.plugins[plugin].enable_cdi).toBe(true);
      expect(toml.plugins[plugin].cdi_spec_dirs).toEqual(["/etc/cdi", "/var/run/cdi"]);
      expect(toml.plugins[plugin].containerd.runtimes.nvidia).toEqual({
        runtime_type: "io.containerd.runc.v2",
        options: { BinaryName: "/usr/bin/nvidia-container-runtime", SystemdCgroup: true },
      });
    },
  );

  it("leaves CDI to containerd's default in a pool without nvidia handlers or cdi", () => {
    const p = plan("kind: containerd\nversion: 2.1.9");
    expect(p.pools[0]!.containerd!.configToml).not.toMatch(/cdi/);
    expect(p.nodes[0]!.steps.map((s) => s.id)).not.toContain("nvidia-toolkit-install");
  });

  it("CRI-O: cdi_spec_dirs on crio.runtime and nvidia-container-runtime as runtime_path; every supported line has CDI", () => {
    const p = plan(`kind: crio
version: 1.35.1
cdi: { specDirs: [/etc/cdi] }
runtimes:
  crun: { engine: crun }
  runc: { engine: runc, install: { from: package } }
  nvidia: { engine: nvidia, install: { from: preinstalled, path: /usr/local/bin/nvidia-container-runtime } }`);
    const dropIn = parse(p.pools[0]!.crio!.dropIn.content) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(dropIn.crio.runtime.cdi_spec_dirs).toEqual(["/etc/cdi"]);
    expect(dropIn.crio.runtime.runtimes.nvidia).toEqual({
      runtime_path: "/usr/local/bin/nvidia-container-runtime",
      runtime_type: "oci",
      runtime_root: "/run/runc",
      monitor_path: "/usr/libexec/crio/conmon",
    });
    expect(p.warnings).toEqual([]);
    for (const line of SUPPORTED_CRIO_LINES) expect(versionAtLeast(`${line}.0`, `${CRIO_CDI_MIN}.0`), line).toBe(true);
  });

  it("CRI-O: warns when nvidia-container-runtime would find no runc or crun on PATH (bundle builds only)", () => {
    const p = plan(`kind: crio
version: 1.36.3
runtimes:
  crun: { engine: crun }
  nvidia: { engine: nvidia, install: { from: preinstalled, path: /usr/bin/nvidia-container-runtime } }`);
    expect(p.warnings.map((w) => w.message)).toEqual([expect.stringContaining("nvidia-container-runtime runs the runc or crun it finds on PATH")]);
  });
});

describe("the toolkit's apt source", () => {
  const flat = { url: "https://nvidia.github.io/libnvidia-container/stable/deb/amd64", suite: "/", components: [], signingKey: KEY };
  const dists = { url: "https://mirror.example/nvidia", suite: "stable", components: ["main"], signingKey: KEY };

  it("is deb822 with Signed-By, and no Components line for a flat repository", () => {
    expect(aptSourcesFile(flat, ["nvidia"])).toBe(`# Managed by kubeplug: the NVIDIA Container Toolkit's repository, for runtime handler(s) nvidia.
Types: deb
URIs: https://nvidia.github.io/libnvidia-container/stable/deb/amd64
Suites: /
Signed-By: ${NVIDIA_APT_KEYRING}
`);
    expect(aptSourcesFile(dists, ["nvidia"])).toContain("Suites: stable\nComponents: main\n");
  });

  // apt itself reads the files: where it would fetch from (no network: --print-uris only prints).
  it.skipIf(!hasCommand("apt-get"))("apt reads NVIDIA's flat layout from <url>/InRelease, a suite from dists/<suite>", () => {
    const dir = mkdtempSync(join(tmpdir(), "kp-apt-"));
    try {
      for (const sub of ["parts", "lists/partial", "cache/archives/partial"]) mkdirSync(join(dir, sub), { recursive: true });
      writeFileSync(join(dir, "parts", "a.sources"), aptSourcesFile(flat, ["nvidia"]));
      writeFileSync(join(dir, "parts", "b.sources"), aptSourcesFile(dists, ["nvidia"]));
      const run = spawnSync("apt-get", ["-o", "Dir::Etc::SourceList=/dev/null", "-o", `Dir::Etc::SourceParts=${join(dir, "parts")}`, "-o", `Dir::State::Lists=${join(dir, "lists")}`, "-o", `Dir::Cache=${join(dir, "cache")}`, "--print-uris", "update"], { encoding: "utf8", timeout: 20_000 });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain("'https://nvidia.github.io/libnvidia-container/stable/deb/amd64/InRelease'");
      expect(run.stdout).toContain("'https://mirror.example/nvidia/dists/stable/InRelease'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("nvidia-toolkit-install: the driver check", () => {
  const dir = mkdtempSync(join(tmpdir(), "kp-nvidia-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The step body with the prelude's functions stubbed: a preinstalled toolkit, so nothing is written or installed. */
  function runBody(driverProc: string, binary: string) {
    const prelude = [
      'kp_fail() { printf "kubeplug[%s/%s]: error: %s\\n" "$KP_NODE" "$KP_STEP" "$*" >&2; exit 1; }',
      'kp_say() { printf "kubeplug[%s/%s]: %s\\n" "$KP_NODE" "$KP_STEP" "$*"; }',
      "kp_install_file() { echo unexpected install; exit 3; }",
      "kp_apt_install() { echo unexpected apt; exit 3; }",
      "KP_NODE=gpu1 KP_STEP=nvidia-toolkit-install",
      `KP_NVIDIA_HANDLERS=(nvidia) KP_NVIDIA_DRIVER_PROC=${driverProc} KP_APT_FILES=() KP_PACKAGES=() KP_REQUIRED_BINARIES=(nvidia=${binary})`,
    ].join("\n");
    return spawnSync("bash", ["-c", `set -euo pipefail\n${prelude}\n. ${SCRIPT}`], { encoding: "utf8" });
  }

  it("fails naming the node when /proc/driver/nvidia/version is missing, before anything is installed", () => {
    const run = runBody(join(dir, "no-driver"), "/bin/true");
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `kubeplug[gpu1/nvidia-toolkit-install]: error: node gpu1 has no NVIDIA driver loaded (${join(dir, "no-driver")} is missing), which runtime handler(s) nvidia need; install the NVIDIA driver on gpu1 (kubeplug does not), or move the node to a pool without nvidia handlers; nothing was installed\n`,
    );
  });

  it("names the driver it found, and then checks the toolkit binary", () => {
    const proc = join(dir, "version");
    writeFileSync(proc, "NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.86.15  (stand-in)\nGCC version: gcc 12\n");
    const binary = join(dir, "nvidia-container-runtime");
    const missing = runBody(proc, binary);
    expect(missing.stdout).toContain("NVIDIA driver on gpu1: NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.86.15  (stand-in)");
    expect(missing.stderr).toContain(`runtime handler nvidia needs ${binary}, which is not there`);
    writeFileSync(binary, "#!/bin/sh\n");
    chmodSync(binary, 0o755);
    expect(runBody(proc, binary).status).toBe(0);
    expect(readFileSync(SCRIPT, "utf8").startsWith("# shellcheck shell=bash")).toBe(true);
  });
});
