import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, describe, expect, it } from "vitest";
import { ContainerdConfig } from "../../src/config/runtime";
import { BASE_RUNTIME_SPEC_DIR, CONTAINERD_CONFIG_PATH, renderCredentialFragment } from "../../src/components/runtime/containerd-render";
import { containerdFeatures } from "../../src/catalog/containerd-features";
import { parseStackFile, StackConfig, validateStackConfig } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";
import { containerdBinDir, DebianContainerdLine, debianContainerdLine, debianContainerdVersion, NO_BINARY_HERE } from "../support/containerd-binaries";
import { GOLDEN_CASES, planGoldenCase } from "../support/golden-cases";
import { missingTools } from "../support/tools";

// The real thing reads what kubeplug renders: Debian's containerd 1.6.20 (bookworm), 1.7.24 (trixie)
// and 2.1.9 (sid), unpacked from their .debs, run `config dump` on each golden case, and the settings
// of the stack must be the ones containerd reports. Golden cases of a line without a reader here (the
// 2.3 case, config version 4) are listed as skipped with that reason; their check runs against a
// stand-in in test/unit/containerd-v4.test.ts.
const skip = missingTools(["apt-get", "dpkg-deb"]);
const work = mkdtempSync(join(tmpdir(), "kubeplug-dump-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Table = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const LIB = join(__dirname, "..", "..", "src", "components", "runtime", "scripts", "containerd-lib.sh");

/**
 * The Debian build that reads a version's config: its own line, or for 2.0 (which Debian never
 * packaged) 2.1, the nearest reader of config version 3 that still takes 2.0's `cni.bin_dir`.
 */
function readerLine(version: string): DebianContainerdLine | undefined {
  return debianContainerdLine(version) ?? (version.startsWith("2.0.") ? "2.1" : undefined);
}

function dump(binDir: string, config: string): { status: number; stdout: string; stderr: string } {
  const file = join(work, `config-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, config);
  const run = spawnSync(join(binDir, "containerd"), ["--config", file, "config", "dump"], { encoding: "utf8" });
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

/** kubeplug's own pre-write check from containerd-lib.sh, run with a given containerd on PATH. */
function kubeplugCheck(binDir: string, config: string, wantVersion: number): { status: number; message: string } {
  const file = join(work, "checked.toml");
  writeFileSync(file, config);
  const script = `set -euo pipefail; KP_STATE_DIR=${work}; KP_STAGE=${work}; source ${LIB}; containerd_check_config ${file} ${wantVersion}`;
  const run = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${binDir}:${process.env.PATH}` } });
  return { status: run.status ?? -1, message: run.stdout.trim() };
}

function stackRuntime(name: string): { config: ContainerdConfig; cgroupDriver: string } {
  const file = join(__dirname, "..", "golden", "cases", `${name}.yaml`);
  const { cluster } = parseStackFile(name, readFileSync(file, "utf8"), file).config;
  const runtime = cluster.pools[0]!.runtime;
  if (runtime.kind !== "containerd") throw new Error(`${name} is not a containerd case`);
  return { config: runtime, cgroupDriver: cluster.kubelet.cgroupDriver };
}

const SETTINGS = ["maxContainerLogLineSize", "unprivilegedPorts", "unprivilegedIcmp", "deviceOwnershipFromSecurityContext"] as const;
const CRI_KEYS: Record<(typeof SETTINGS)[number], string> = {
  maxContainerLogLineSize: "max_container_log_line_size",
  unprivilegedPorts: "enable_unprivileged_ports",
  unprivilegedIcmp: "enable_unprivileged_icmp",
  deviceOwnershipFromSecurityContext: "device_ownership_from_security_context",
};

/** Every typed daemon setting the stack sets is the value containerd's dump reports, on the table it reads. */
function expectTypedSettings(dumped: Table, config: ContainerdConfig): void {
  const features = containerdFeatures(config.version)!;
  const cri = dumped.plugins[features.criRuntimePlugin] as Table;
  if (config.logLevel) expect(dumped.debug.level, "debug.level").toBe(config.logLevel);
  if (config.metricsAddress) expect(dumped.metrics.address, "metrics.address").toBe(config.metricsAddress);
  for (const setting of SETTINGS) {
    if (config[setting] !== undefined) expect(cri[CRI_KEYS[setting]], `${features.criRuntimePlugin}.${CRI_KEYS[setting]}`).toBe(config[setting]);
  }
  for (const [handler, spec] of Object.entries(config.runtimes)) {
    if (spec.baseRuntimeSpec) expect(cri.containerd.runtimes[handler].base_runtime_spec, `${handler} base_runtime_spec`).toMatch(new RegExp(`^${BASE_RUNTIME_SPEC_DIR}/${handler}-[0-9a-f]{12}\\.json$`));
  }
}

function typedSettingsStack(version: string, on: boolean): StackConfig {
  return validateStackConfig("settings", {
    "kubeplug:cluster": {
      name: "settings",
      ssh: { privateKeyPath: "k", insecureSkipHostKeyCheck: true },
      pools: [{
        name: "p",
        runtime: {
          kind: "containerd",
          version,
          logLevel: on ? "debug" : "warn",
          metricsAddress: on ? "127.0.0.1:1338" : "[::1]:9338",
          maxContainerLogLineSize: on ? 65536 : -1,
          unprivilegedPorts: on,
          unprivilegedIcmp: on,
          deviceOwnershipFromSecurityContext: on,
          runtimes: { runc: { engine: "runc", baseRuntimeSpec: { ociVersion: "1.1.0", process: { cwd: "/", user: { uid: 0, gid: 0 }, rlimits: [{ type: "RLIMIT_NOFILE", hard: 4096, soft: 4096 }] } } } },
        },
      }],
      nodes: [{ name: "n", pool: "p", address: "192.0.2.1" }],
    },
  }).config;
}

describe.skipIf(skip)(`containerd config dump of rendered configs${skip ? ` (skipped: ${skip})` : ""}`, () => {
  describe.each(GOLDEN_CASES.filter((c) => c.includes("containerd-")))("%s", (name) => {
    const { config, cgroupDriver } = stackRuntime(name);
    const features = containerdFeatures(config.version)!;
    const line = readerLine(config.version);
    if (!line) {
      it.skip(`containerd ${config.version} (config version ${features.configVersion}): ${NO_BINARY_HERE}`, () => {});
      return;
    }
    const plan = planGoldenCase(name);
    const rendered = plan.pools[0]!.containerd!;
    const password = "dump-test-password";
    const withCredentials =
      rendered.configToml + renderCredentialFragment(config.version, rendered.credentials.map((c) => ({ host: c.host, username: c.username, password })));

    it(`containerd ${debianContainerdVersion(line)} reports the settings of a ${config.version} stack`, () => {
      const binDir = containerdBinDir(line);
      const result = dump(binDir, withCredentials);
      expect(result.stderr).not.toMatch(/level=(error|fatal)/);
      expect(result.status).toBe(0);
      const dumped = parse(result.stdout) as Table;
      expect(dumped.version).toBe(features.configVersion);
      expect(dumped.root).toBe(config.root);
      expect(dumped.state).toBe(config.state);
      expect(dumped.grpc.address).toBe(config.address);

      const runtimePlugin = dumped.plugins[features.criRuntimePlugin] as Table;
      const imagesPlugin = dumped.plugins[features.criImagesPlugin] as Table;
      const sandboxImage = features.configVersion === 2 ? runtimePlugin.sandbox_image : imagesPlugin.pinned_images.sandbox;
      expect(sandboxImage).toBe(config.sandboxImage);
      expect(imagesPlugin.registry.config_path).toBe(config.registries.configPath);
      const snapshotter = features.configVersion === 2 ? runtimePlugin.containerd.snapshotter : imagesPlugin.snapshotter;
      expect(snapshotter).toBe(config.snapshotter);

      const runtimes = runtimePlugin.containerd.runtimes as Table;
      expect(runtimePlugin.containerd.default_runtime_name).toBe(config.defaultRuntime);
      expect(Object.keys(runtimes).sort()).toEqual(Object.keys(config.runtimes).sort());
      for (const [handler, spec] of Object.entries(config.runtimes)) {
        if (spec.engine === "runc" || spec.engine === "crun") {
          expect(runtimes[handler].runtime_type).toBe("io.containerd.runc.v2");
          expect(runtimes[handler].options.SystemdCgroup, `${handler} SystemdCgroup`).toBe(cgroupDriver === "systemd");
          expect(runtimes[handler].options.BinaryName).toMatch(new RegExp(`/${spec.engine}$`));
        }
        if (spec.snapshotter) {
          expect(runtimes[handler].snapshotter, `${handler} snapshotter`).toBe(spec.snapshotter);
          if (features.handlerSnapshotterNeedsImagePlatform) expect(imagesPlugin.runtime_platforms[handler].snapshotter, `${handler} image platform`).toBe(spec.snapshotter);
        }
      }
      for (const c of rendered.credentials) {
        expect(imagesPlugin.registry.configs[c.host].auth).toMatchObject({ username: c.username, password });
      }
      expectTypedSettings(dumped, config);
    });

    it(`kubeplug's pre-write check accepts it on containerd ${debianContainerdVersion(line)}`, () => {
      expect(kubeplugCheck(containerdBinDir(line), withCredentials, features.configVersion)).toEqual({ status: 0, message: "" });
    });
  });

  // Each typed setting, both ways where it is a switch, on every line Debian builds; the golden cases
  // above carry one combination each.
  describe.each(["1.6", "1.7", "2.1"] as const)("typed daemon settings on containerd %s", (line) => {
    it.each([true, false])("are the values containerd reports (switches %s)", (on) => {
      const config = typedSettingsStack(debianContainerdVersion(line), on);
      const rendered = planCluster(config).pools[0]!.containerd!;
      const result = dump(containerdBinDir(line), rendered.configToml);
      expect(result.status, result.stderr).toBe(0);
      const runtime = config.cluster.pools[0]!.runtime as ContainerdConfig;
      expectTypedSettings(parse(result.stdout) as Table, runtime);
    });
  });

  it("containerd 1.6 silently reads a version 3 file as version 2 defaults, and kubeplug refuses it", () => {
    const v3 = planGoldenCase("containerd-v3-full").pools[0]!.containerd!.configToml;
    const raw = dump(containerdBinDir("1.6"), v3);
    expect(raw.status).toBe(0);
    const dumped = parse(raw.stdout) as Table;
    expect(dumped.version).toBe(2);
    expect(dumped.plugins["io.containerd.grpc.v1.cri"].sandbox_image).not.toBe("registry.internal.example/pause:3.10");

    expect(kubeplugCheck(containerdBinDir("1.6"), v3, 3)).toEqual({
      status: 1,
      message: "reads config version 2, not the version 3 it was rendered for",
    });
  });

  it("containerd 2.1 refuses the version 4 file kubeplug renders for 2.3, so version 4 is for 2.3 only", () => {
    const v4 = planGoldenCase("containerd-v4-full").pools[0]!.containerd!.configToml;
    const check = kubeplugCheck(containerdBinDir("2.1"), v4, 4);
    expect(check.status).toBe(1);
    // The same ValidateVersion refusal the 2.3 stand-in (test/fixtures/standins/containerd-2.3) gives for version 5.
    expect(check.message).toMatch(/^rejects the config: .*expected containerd config version equal to or less than `3`, got `4`/);
  });
  it("a value of the wrong type is refused with containerd's own reason", () => {
    const rendered = planGoldenCase("containerd-v3-cgroupfs").pools[0]!.containerd!.configToml;
    const bad = rendered.replace('conf_dir = "/etc/cni/net.d"', 'conf_dir = "/etc/cni/net.d"\nmax_conf_num = "many"');
    expect(bad).not.toBe(rendered);
    const check = kubeplugCheck(containerdBinDir("2.1"), bad, 3);
    expect(check.status).toBe(1);
    expect(check.message).toMatch(/^rejects the config: .*MaxConfNum of type int/);
  });

  it("the configure step writes to the path that containerd reads by default", () => {
    const binDir = containerdBinDir("2.1");
    const help = execFileSync(join(binDir, "containerd"), ["--help"], { encoding: "utf8" });
    expect(help).toContain(CONTAINERD_CONFIG_PATH);
  });
});
