import { describe, expect, it } from "vitest";
import { containerdFeatures } from "../../src/catalog/containerd-features";
import { containerdKeyLine } from "../../src/catalog/containerd-keys";
import { configTree } from "../../src/components/runtime/containerd-render";
import { checkContainerdOverrides } from "../../src/config/containerd-overrides";
import { Findings } from "../../src/config/findings";
import { parseStackFile } from "../../src/config/stack";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GOLDEN_CASES } from "../support/golden-cases";

// Overrides are checked against the keys each containerd line reads (src/catalog/containerd-keys.json,
// captured from real binaries by npm run containerd-keys and verified in test/real/containerd-keys.real.test.ts).
// The bad-config corpus (200–210) pins the refusals; this file pins what must stay accepted.

function check(version: string, overrides: Record<string, unknown>) {
  const findings = new Findings();
  checkContainerdOverrides(overrides, findings.at("kubeplug:cluster", "pools", 0, "runtime", "overrides"), containerdFeatures(version)!, version);
  return { problems: findings.problems.map((p) => `${p.path}: ${p.message}`), warnings: findings.warnings.map((w) => `${w.path}: ${w.message}`) };
}

const V3_RUNTIME = "io.containerd.cri.v1.runtime";
const V3_IMAGES = "io.containerd.cri.v1.images";
const V2_CRI = "io.containerd.grpc.v1.cri";

describe("containerd override keys", () => {
  it.each(GOLDEN_CASES.filter((c) => c.startsWith("containerd-")))("every key kubeplug renders for %s is a key its containerd reads", (name) => {
    const file = join(__dirname, "..", "golden", "cases", `${name}.yaml`);
    const { cluster } = parseStackFile(name, readFileSync(file, "utf8"), file).config;
    const runtime = cluster.pools[0]!.runtime;
    if (runtime.kind !== "containerd") throw new Error("not a containerd case");
    const features = containerdFeatures(runtime.version)!;
    const managed = configTree(runtime, { pool: "p", cgroupDriver: cluster.kubelet.cgroupDriver, cni: { binDir: "/opt/cni/bin", confDir: "/etc/cni/net.d" } }, features);
    // The registry credentials kubeplug appends on the node (renderCredentialFragment) too.
    const credentials = { plugins: { [features.criImagesPlugin]: { registry: { configs: { "mirror.example:5000": { auth: { username: "u", password: "p" } } } } } } };
    expect(check(runtime.version, managed as Record<string, unknown>).problems).toEqual([]);
    expect(check(runtime.version, credentials).problems).toEqual([]);
  });

  it("tables whose keys are names or belong to a shim are not refused (2.1)", () => {
    const result = check("2.1.9", {
      plugins: {
        [V3_RUNTIME]: { containerd: { runtimes: { "my-wasm": { runtime_type: "io.containerd.wasmtime.v1", options: { AnyShimKey: 1, Nested: { deep: true } } } } } },
        [V3_IMAGES]: {
          pinned_images: { sandbox: "registry.example/pause:3.10", extra: "registry.example/tool:1" },
          runtime_platforms: { "my-wasm": { snapshotter: "native", platform: "wasi/wasm" } },
          registry: { mirrors: { "docker.io": { endpoint: ["https://m.example"] } }, headers: { "X-Any": ["v"] }, configs: { "m.example": { auth: { username: "u" } } } },
        },
      },
      proxy_plugins: { stargz: { type: "snapshot", address: "/run/stargz.sock", exports: { root: "/var/lib/stargz" } } },
      stream_processors: { "my.processor": { accepts: ["a"], returns: "b", path: "/usr/bin/p" } },
      timeouts: { "io.containerd.timeout.shim.cleanup": "10s" },
    });
    expect(result).toEqual({ problems: [], warnings: [] });
  });

  it("tables whose keys are names or belong to a shim are not refused (1.6)", () => {
    const result = check("1.6.20", {
      plugins: {
        [V2_CRI]: {
          containerd: { runtimes: { kata: { runtime_type: "io.containerd.kata.v2", options: { ConfigPath: "/x" } } }, default_runtime: { options: { Anything: 1 } } },
          registry: { mirrors: { "docker.io": { endpoint: ["https://m.example"] } }, configs: { "m.example": { tls: { insecure_skip_verify: true } } }, headers: { "X-Any": ["v"] } },
        },
      },
    });
    expect(result).toEqual({ problems: [], warnings: [] });
  });

  it("a plugin Debian's build leaves out is accepted with a warning that its keys are not checked", () => {
    expect(check("2.1.9", { plugins: { "io.containerd.snapshotter.v1.zfs": { root_path: "/tank" } } })).toEqual({
      problems: [],
      warnings: [
        'kubeplug:cluster.pools[0].runtime.overrides.plugins["io.containerd.snapshotter.v1.zfs"]: keys not checked: containerd 2.1.9 from Debian sid, whose config kubeplug checks overrides against, is built without this plugin; containerd\'s source at v2.1.9 registers it',
      ],
    });
    expect(check("1.6.20", { plugins: { "io.containerd.internal.v1.tracing": { sampling_ratio: 0.5 } } }).warnings).toHaveLength(1);
  });

  it("a line without a binary here: top-level keys and plugin names are checked, the rest is accepted with one warning", () => {
    expect(check("2.3.4", { plugins: { [V3_RUNTIME]: { max_container_log_line_size: 32768, anything_at_all: 1 }, "io.containerd.server.v1.debug": { address: "/run/d.sock" } } })).toEqual({
      problems: [],
      warnings: [
        "kubeplug:cluster.pools[0].runtime.overrides: containerd 2.3: kubeplug checked only the top-level keys and plugin names of these overrides (against containerd's source at v2.3.4), not the keys inside them: no containerd 2.3 binary was available to report the keys it reads",
      ],
    });
    expect(check("2.2.7", { grpcc: {} }).problems).toEqual(['kubeplug:cluster.pools[0].runtime.overrides.grpcc: unknown containerd config key "grpcc"; did you mean "grpc"?']);
    // plugin_dir is a 1.x and 2.0 key: 2.1 removed it from the Config struct.
    expect(check("2.0.11", { plugin_dir: "/p" }).problems).toEqual([]);
    expect(check("2.2.7", { plugin_dir: "/p" }).problems).toHaveLength(1);
  });

  it("a key a later patch release added is read from that release on", () => {
    const timeout = { plugins: { [V2_CRI]: { drain_exec_sync_io_timeout: "10s" } } };
    expect(check("1.6.39", timeout).problems).toEqual([]);
    expect(check("1.6.29", timeout).problems).toEqual([]);
    expect(check("1.6.28", timeout).problems).toEqual([
      'kubeplug:cluster.pools[0].runtime.overrides.plugins["io.containerd.grpc.v1.cri"].drain_exec_sync_io_timeout: containerd 1.6.28 does not read "drain_exec_sync_io_timeout" here: it was added in containerd 1.6.29',
    ]);
  });

  it("a line with no key list at all (2.4) is accepted with a warning", () => {
    expect(containerdKeyLine("2.4")).toBeUndefined();
    const result = check("2.4.0", { plugins: { "io.containerd.cri.v1.runtme": {} } });
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([
      "kubeplug:cluster.pools[0].runtime.overrides: kubeplug has no list of the keys containerd 2.4 reads, so these overrides are not checked; run containerd config dump on a node to see what it took",
    ]);
  });

  it("each structural refusal is reported once, not again by the key catalog", () => {
    expect(check("2.1.9", { plugins: { [V2_CRI]: { containerd: { snapshotter: "native" } } } }).problems).toHaveLength(1);
    expect(check("1.6.20", { plugins: { [V3_IMAGES]: { snapshotter: "native" } } }).problems).toHaveLength(1);
    expect(check("2.3.4", { metrics: { address: "127.0.0.1:1338", grpc_histogram: true } }).problems).toEqual([
      'kubeplug:cluster.pools[0].runtime.overrides.metrics.address: is a config version 3 key (containerd 2.0–2.2); containerd 2.3 ignores it in a version 4 file. Use plugins."io.containerd.server.v1.metrics".address',
      'kubeplug:cluster.pools[0].runtime.overrides.metrics.grpc_histogram: is a config version 3 key (containerd 2.0–2.2); containerd 2.3 ignores it in a version 4 file. Use plugins."io.containerd.metrics.v1.grpc-prometheus".grpc_histogram',
    ]);
    expect(check("2.3.4", { metrics: { address: "127.0.0.1:1338" } }).warnings).toEqual([]);
    expect(check("2.3.4", { debug: { level: "debug", format: "json", log_trace_id: true } }).problems).toEqual([]);
  });
});
