/**
 * The key tree a real containerd binary reports: `containerd config default`, merged with `config dump`
 * of a probe file that puts one entry into each table containerd leaves empty or omits by default
 * (registry maps, proxy plugins, omitempty tracing fields), so the keys of those entries are reported
 * too. Only what the binary prints back enters the tree; a probe key it drops is not a key it reads.
 * Tables whose keys are names (handlers, registry hosts, proxy plugins...) become `*`, and tables whose
 * content belongs to someone else (runtime `options`, which the shim decodes) become plain values.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { KeyTable, KeyTree } from "../../src/catalog/containerd-keys";

type Toml = Record<string, unknown>;

const V2_CRI = "io.containerd.grpc.v1.cri";
const V3_RUNTIME = "io.containerd.cri.v1.runtime";
const V3_IMAGES = "io.containerd.cri.v1.images";

/** The probe: one entry in each table containerd's default config leaves empty, per config version. */
export function probeConfig(configVersion: 2 | 3): string {
  const registry = configVersion === 2 ? `plugins."${V2_CRI}".registry` : `plugins."${V3_IMAGES}".registry`;
  const lines = [
    `version = ${configVersion}`,
    "",
    "[proxy_plugins.kubeplug-probe]",
    'type = "snapshot"',
    'address = "/run/kubeplug-probe.sock"',
    'exports = { probe = "probe" }',
    "",
    `[${registry}.mirrors."probe.example"]`,
    'endpoint = ["https://probe.example"]',
    `[${registry}.configs."probe.example".auth]`,
    'username = "probe"',
    `[${registry}.configs."probe.example".tls]`,
    "insecure_skip_verify = true",
    `[${registry}.auths."probe.example"]`,
    'username = "probe"',
    `[${registry}.headers]`,
    'X-Probe = ["probe"]',
    "",
    // omitempty fields (pkg/tracing/plugin/otlp.go): printed only when set.
    '[plugins."io.containerd.internal.v1.tracing"]',
    'service_name = "probe"',
    "sampling_ratio = 0.5",
    '[plugins."io.containerd.tracing.processor.v1.otlp"]',
    'endpoint = "probe.example:4317"',
    'protocol = "grpc"',
    "insecure = true",
  ];
  if (configVersion === 3) {
    lines.push(
      "",
      `[plugins."${V3_IMAGES}".pinned_images]`,
      'probe = "probe.example/pause:1"',
      `[plugins."${V3_IMAGES}".runtime_platforms.probe]`,
      'snapshotter = "native"',
    );
  }
  return lines.join("\n") + "\n";
}

/** Paths (segments, `*` for any name) whose tables hold names, and whose content is free-form. */
function patterns(configVersion: 2 | 3): { names: string[][]; free: string[][] } {
  const runtimes = configVersion === 2 ? ["plugins", V2_CRI, "containerd", "runtimes"] : ["plugins", V3_RUNTIME, "containerd", "runtimes"];
  const registry = configVersion === 2 ? ["plugins", V2_CRI, "registry"] : ["plugins", V3_IMAGES, "registry"];
  const names = [["stream_processors"], ["proxy_plugins"], runtimes, [...registry, "mirrors"], [...registry, "configs"], [...registry, "auths"]];
  const free = [["proxy_plugins", "*", "exports"], [...runtimes, "*", "options"], [...registry, "headers"]];
  if (configVersion === 2) {
    free.push(["plugins", V2_CRI, "containerd", "default_runtime", "options"], ["plugins", V2_CRI, "containerd", "untrusted_workload_runtime", "options"]);
  } else {
    names.push(["plugins", V3_IMAGES, "pinned_images"], ["plugins", V3_IMAGES, "runtime_platforms"]);
  }
  return { names, free };
}

function isTable(value: unknown): value is Toml {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Keys of a parsed TOML document; arrays (also arrays of tables) and scalars are values. */
function keyTree(value: unknown): KeyTree {
  if (!isTable(value)) return true;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keyTree(v)]));
}

export function mergeTrees(a: KeyTree, b: KeyTree): KeyTree {
  if (a === true || b === true) return a === true && b === true ? true : a === true ? b : a;
  const out: Record<string, KeyTree> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = out[k] === undefined ? v : mergeTrees(out[k]!, v);
  return out;
}

function applyPatterns(tree: KeyTree, configVersion: 2 | 3): KeyTree {
  const { names, free } = patterns(configVersion);
  const matches = (pattern: string[], path: string[]) => pattern.length === path.length && pattern.every((p, i) => p === "*" || p === path[i]);
  const walk = (node: KeyTree, path: string[]): KeyTree => {
    if (free.some((p) => matches(p, path))) return true;
    if (node === true) return true;
    if (names.some((p) => matches(p, path))) {
      // Every entry the binary printed is an example of the same struct: their union is what a name holds.
      const entry = Object.entries(node).reduce<KeyTree | undefined>((acc, [name, sub]) => {
        const here = walk(sub, [...path, name]);
        return acc === undefined ? here : mergeTrees(acc, here);
      }, undefined);
      return { "*": entry ?? true };
    }
    return Object.fromEntries(Object.entries(node).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => [k, walk(v, [...path, k])]));
  };
  return walk(tree, []);
}

/**
 * containerd 2.x echoes a plugin table it has no plugin for (`config dump` keeps unknown `plugins` entries
 * as written), so only plugins `config default` lists, which are the plugins the binary registers with a
 * config, are taken from the dump.
 */
function registeredPluginsOnly(dumped: Toml, defaults: Toml): Toml {
  const known = isTable(defaults.plugins) ? defaults.plugins : {};
  const plugins = isTable(dumped.plugins) ? Object.fromEntries(Object.entries(dumped.plugins).filter(([id]) => id in known)) : {};
  return { ...dumped, plugins };
}

export interface Capture {
  readonly version: string;
  readonly keys: KeyTable;
  /** Tables that stayed empty after the probe: any key under them would be refused. */
  readonly emptyTables: readonly string[];
}

/** Runs the containerd in `binDir` and returns the key tree it reports. */
export function captureKeys(binDir: string, configVersion: 2 | 3): Capture {
  const containerd = join(binDir, "containerd");
  const work = mkdtempSync(join(tmpdir(), "kubeplug-keys-"));
  try {
    const probe = join(work, "probe.toml");
    writeFileSync(probe, probeConfig(configVersion));
    const run = (args: string[]) => execFileSync(containerd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const version = /(\d+\.\d+\.\d+)/.exec(run(["--version"]).trim().split(/\s+/)[2] ?? "")?.[1] ?? "unknown";
    const defaults = parse(run(["config", "default"]));
    const dumped = registeredPluginsOnly(parse(run(["--config", probe, "config", "dump"])), defaults);
    const keys = applyPatterns(mergeTrees(keyTree(defaults), keyTree(dumped)), configVersion);
    if (keys === true) throw new Error(`${containerd} printed no config`);
    const emptyTables: string[] = [];
    const findEmpty = (node: KeyTree, path: string[]) => {
      if (node === true) return;
      if (Object.keys(node).length === 0) emptyTables.push(path.join("."));
      for (const [k, v] of Object.entries(node)) findEmpty(v, [...path, k]);
    };
    findEmpty(keys, []);
    return { version, keys, emptyTables };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
