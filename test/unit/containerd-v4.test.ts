import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, describe, expect, it } from "vitest";
import { containerdFeatures } from "../../src/catalog/containerd-features";
import { configTree, renderContainerd } from "../../src/components/runtime/containerd-render";
import { ContainerdConfig } from "../../src/config/runtime";
import { parseStackFile } from "../../src/config/stack";
import { planGoldenCase } from "../support/golden-cases";

// containerd 2.3 reads config version 4 (the server listeners are plugin tables) and `config dump` reports
// version 4 for every file it reads, so kubeplug renders version 4 for 2.3. No 2.3 binary is available on
// this machine: the pre-write check runs here against a stand-in that reports what containerd 2.3.4's
// source says it reports (test/fixtures/standins/containerd-2.3/containerd). The real dumps of 1.6, 1.7
// and 2.1 are in test/real/containerd-config-dump.real.test.ts.
const LIB = join(__dirname, "..", "..", "src", "components", "runtime", "scripts", "containerd-lib.sh");
const STAND_IN_2_3 = join(__dirname, "..", "fixtures", "standins", "containerd-2.3");
const work = mkdtempSync(join(tmpdir(), "kubeplug-v4-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Table = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** containerd_check_config from containerd-lib.sh, with the 2.3 stand-in first on PATH. */
function checkWithStandIn(config: string, wantVersion: number): { status: number; message: string } {
  const file = join(work, `config-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, config);
  const script = `set -euo pipefail; KP_STAGE=${work}; source ${LIB}; containerd_check_config ${file} ${wantVersion}`;
  const run = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${STAND_IN_2_3}:${process.env.PATH}` } });
  return { status: run.status ?? -1, message: run.stdout.trim() };
}

const GOLDEN_V4 = join(__dirname, "..", "golden", "cases", "containerd-v4-full.yaml");
const v4 = planGoldenCase("containerd-v4-full").pools[0]!.containerd!;

/** The golden 2.3 stack's runtime section, as planCluster parses it. */
function v4Runtime(): ContainerdConfig {
  const runtime = parseStackFile("v4", readFileSync(GOLDEN_V4, "utf8"), GOLDEN_V4).config.cluster.pools[0]!.runtime;
  if (runtime.kind !== "containerd") throw new Error("containerd-v4-full is a containerd case");
  return runtime;
}

describe("containerd 2.3: config version 4", () => {
  it("every 2.3 release renders version 4; 2.0–2.2 stay on version 3", () => {
    for (const version of ["2.3.0", "2.3.1", "2.3.2", "2.3.3", "2.3.4"]) expect(containerdFeatures(version)!.configVersion, version).toBe(4);
    for (const version of ["2.0.11", "2.1.9", "2.2.7"]) expect(containerdFeatures(version)!.configVersion, version).toBe(3);
  });

  it("the listeners are server plugin tables, with ttrpc beside the grpc socket as version 3 derived it", () => {
    const runtime = v4Runtime();
    const custom = { ...runtime, address: "/run/containerd-gpu/containerd.sock" };
    const toml = parse(renderContainerd(custom, { pool: "p", cgroupDriver: "systemd", cni: { binDir: "/opt/cni/bin", confDir: "/etc/cni/net.d" } }).configToml) as Table;
    expect(toml.version).toBe(4);
    expect(toml.grpc).toBeUndefined();
    expect(toml.ttrpc).toBeUndefined();
    expect(toml.plugins["io.containerd.server.v1.grpc"]).toEqual({ address: "/run/containerd-gpu/containerd.sock" });
    expect(toml.plugins["io.containerd.server.v1.ttrpc"]).toEqual({ address: "/run/containerd-gpu/containerd.sock.ttrpc" });
    // The CRI tables are the same as in version 3.
    const v3 = configTree({ ...runtime, version: "2.2.7" }, { pool: "p", cgroupDriver: "systemd", cni: { binDir: "/opt/cni/bin", confDir: "/etc/cni/net.d" } }, containerdFeatures("2.2.7")!);
    const v3Plugins = v3.plugins as Table;
    expect(toml.plugins["io.containerd.cri.v1.runtime"].containerd).toEqual(v3Plugins["io.containerd.cri.v1.runtime"].containerd);
    expect(toml.plugins["io.containerd.cri.v1.images"].registry).toEqual(v3Plugins["io.containerd.cri.v1.images"].registry);
  });

  it("the configure step asks the node for version 4", () => {
    const configure = planGoldenCase("containerd-v4-full").nodes[0]!.steps.find((s) => s.id === "containerd-configure")!;
    expect(configure.script).toContain("KP_CONFIG_VERSION='4'");
  });

  it("kubeplug's pre-write check accepts the 2.3 render on the 2.3 stand-in", () => {
    expect(checkWithStandIn(v4.configToml, v4.features.configVersion)).toEqual({ status: 0, message: "" });
  });

  it("a version 3 file for 2.3 (what kubeplug rendered before) fails that check, as it did on every 2.3 node", () => {
    const v3File = v4.configToml.replace(/^version = 4$/m, "version = 3");
    expect(checkWithStandIn(v3File, 3)).toEqual({ status: 1, message: "reads config version 4, not the version 3 it was rendered for" });
  });

  it("the stand-in refuses a version it does not know, as ValidateVersion does", () => {
    const check = checkWithStandIn(v4.configToml.replace(/^version = 4$/m, "version = 5"), 5);
    expect(check.status).toBe(1);
    expect(check.message).toMatch(/^rejects the config: .*expected containerd config version equal to or less than `4`, got `5`/);
  });
});
