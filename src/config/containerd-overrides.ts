import { ContainerdFeatures, MOVED_IN_V4, V4_DEBUG_KEYS } from "../catalog/containerd-features";
import { ContainerdKeyLine, containerdKeyLine, keyChild, KeyTable, KeyTree, knownKeys } from "../catalog/containerd-keys";
import { versionAtLeast } from "../util/version";
import { Locator } from "./findings";
import { closest, unknownNameMessage } from "./suggest";

/**
 * Checks of a containerd section's raw `overrides`: keys of another config version first (with the table
 * they belong in), then every key against what the line's containerd reads (src/catalog/containerd-keys.json),
 * so a key containerd would silently ignore is refused at the path the user wrote. Keys kubeplug manages
 * are refused by the plan, which renders the managed tree (planPoolRuntime).
 */
export function checkContainerdOverrides(overrides: Record<string, unknown>, at: Locator, features: ContainerdFeatures, version: string): void {
  const reported = new Set<string>();
  const report: Report = (path, message) => {
    if (message) at.child(...path).problem(message);
    reported.add(pathKey(path));
  };
  checkOtherVersions(overrides, features, report);
  checkKnownKeys(overrides, at, features, version, (path) => reported.has(pathKey(path)));
  checkTomlValues(overrides, at);
}

/** Records a problem at a path (none when the message is empty) and keeps the catalog walk out of it. */
type Report = (path: readonly string[], message: string) => void;

const pathKey = (path: readonly string[]) => JSON.stringify(path);

/** Override paths that have a typed runtime field: the field is the one way to set them. */
function typedKeys(features: ContainerdFeatures): [readonly string[], string][] {
  const cri = ["plugins", features.criRuntimePlugin];
  return [
    [[...cri, "max_container_log_line_size"], "maxContainerLogLineSize"],
    [[...cri, "enable_unprivileged_ports"], "unprivilegedPorts"],
    [[...cri, "enable_unprivileged_icmp"], "unprivilegedIcmp"],
    [[...cri, "device_ownership_from_security_context"], "deviceOwnershipFromSecurityContext"],
    ...(features.cdi ? ([[[...cri, "enable_cdi"], "cdi"], [[...cri, "cdi_spec_dirs"], "cdi"]] as [readonly string[], string][]) : []),
    [["debug", "level"], "logLevel"],
    [features.configVersion === 4 ? ["plugins", MOVED_IN_V4.metrics!.address![0], "address"] : ["metrics", "address"], "metricsAddress"],
  ];
}

/** Override keys containerd reads, but that kubeplug types: refused, so each setting has one way in. */
export function checkTypedOverrides(overrides: Record<string, unknown>, at: Locator, features: ContainerdFeatures): void {
  for (const [path, field] of typedKeys(features)) {
    let value: unknown = overrides;
    for (const key of path) value = isTable(value) ? value[key] : undefined;
    if (value !== undefined) at.child(...path).problem(`has a typed setting: use the runtime's "${field}" instead of overrides`);
  }
}

/** CRI keys that lived in the v2 CRI plugin and moved in config version 3. */
const MOVED_IN_V3 = new Set(["containerd", "cni", "registry", "sandbox_image", "image_decryption", "max_concurrent_downloads"]);

function checkOtherVersions(overrides: Record<string, unknown>, features: ContainerdFeatures, report: Report): void {
  const plugins = overrides.plugins;
  if (isTable(plugins)) {
    for (const [plugin, table] of Object.entries(plugins)) {
      if (features.configVersion === 2 && plugin.startsWith("io.containerd.cri.v1.")) {
        report(["plugins", plugin], `is a config version 3 plugin table (containerd 2.x); containerd ${features.line} ignores it. Use "io.containerd.grpc.v1.cri"`);
      }
      if (features.configVersion >= 3 && plugin === "io.containerd.grpc.v1.cri" && isTable(table)) {
        for (const key of Object.keys(table).filter((k) => MOVED_IN_V3.has(k))) {
          report(
            ["plugins", plugin, key],
            `is a config version 2 key (containerd 1.x); containerd ${features.line} ignores it in a version ${features.configVersion} file. Use plugins."io.containerd.cri.v1.runtime" or plugins."io.containerd.cri.v1.images"`,
          );
        }
      }
    }
  }
  if (features.configVersion === 4) checkMovedInV4(overrides, features, report);
}

/** A version 4 file keeps top-level grpc/ttrpc/metrics and debug.address parseable but reads none of them. */
function checkMovedInV4(overrides: Record<string, unknown>, features: ContainerdFeatures, report: Report): void {
  for (const [section, moves] of Object.entries(MOVED_IN_V4)) {
    const table = overrides[section];
    if (table === undefined) continue;
    const plugins = [...new Set(Object.values(moves).map(([plugin]) => `plugins."${plugin}"`))].join(" and ");
    if (!isTable(table)) {
      if (section !== "debug") report([section], `is a config version 3 section; containerd ${features.line} ignores it in a version 4 file. Use ${plugins}`);
      continue;
    }
    for (const key of Object.keys(table)) {
      const move = moves[key];
      if (move) {
        report([section, key], `is a config version 3 key (containerd 2.0–2.2); containerd ${features.line} ignores it in a version 4 file. Use plugins."${move[0]}".${move[1]}`);
      } else if (section !== "debug") {
        report([section, key], `is in [${section}], a config version 3 section; containerd ${features.line} ignores it in a version 4 file, where these settings are ${plugins}`);
      } else if (!V4_DEBUG_KEYS.includes(key)) {
        report([section, key], unknownNameMessage("containerd debug key", key, [...V4_DEBUG_KEYS]));
      }
    }
    if (section !== "debug") report([section], ""); // every key reported above
  }
}

/** Walks the overrides along the key catalog of the pool's line; `skip` says which paths were already reported. */
function checkKnownKeys(overrides: Record<string, unknown>, at: Locator, features: ContainerdFeatures, version: string, skip: (path: readonly string[]) => boolean): void {
  if (Object.keys(overrides).length === 0) return;
  const line = containerdKeyLine(features.line);
  if (!line) {
    at.warn(`kubeplug has no list of the keys containerd ${features.line} reads, so these overrides are not checked; run containerd config dump on a node to see what it took`);
    return;
  }
  const walker = new KeyWalker(line, version, skip);
  const top = line.keys ? knownKeys(line.keys) : [...line.source.topLevel];
  for (const [key, value] of Object.entries(overrides)) {
    if (skip([key])) continue;
    if (!top.includes(key)) {
      at.child(key).problem(unknownNameMessage("containerd config key", key, top));
    } else if (key === "plugins") {
      walker.plugins(value, at.child(key));
    } else if (line.keys) {
      walker.walk(line.keys[key]!, value, at.child(key), [key]);
    } else if (isTable(value)) {
      walker.unchecked = true;
    }
  }
  if (walker.unchecked) {
    at.warn(
      `containerd ${line.line}: kubeplug checked only the top-level keys and plugin names of these overrides (against containerd's source at ${line.source.tag}), not the keys inside them: no containerd ${line.line} binary was available to report the keys it reads`,
    );
  }
}

class KeyWalker {
  /** Set when a table was accepted without its keys being checked (lines without a binary here). */
  unchecked = false;

  constructor(
    private readonly line: ContainerdKeyLine,
    private readonly version: string,
    private readonly skip: (path: readonly string[]) => boolean,
  ) {}

  private get binaryPlugins(): KeyTable | undefined {
    const plugins = this.line.keys?.plugins;
    return plugins && plugins !== true ? plugins : undefined;
  }

  plugins(value: unknown, at: Locator): void {
    if (!isTable(value)) return; // a value where containerd wants a table: its own decode error, on the node
    const binary = this.binaryPlugins;
    const known = [...new Set([...(binary ? knownKeys(binary) : []), ...this.line.source.plugins])].sort();
    for (const [id, table] of Object.entries(value)) {
      const path = ["plugins", id];
      if (this.skip(path)) continue;
      const here = at.child(id);
      const tree = binary?.[id];
      if (tree !== undefined) {
        this.walk(tree, table, here, path);
      } else if (this.line.source.plugins.includes(id)) {
        if (this.line.binary) {
          here.warn(
            `keys not checked: ${this.line.binary.name}, whose config kubeplug checks overrides against, is built without this plugin; containerd's source at ${this.line.source.tag} registers it`,
          );
        } else if (isTable(table) && Object.keys(table).length > 0) {
          this.unchecked = true;
        }
      } else {
        const evidence = this.line.binary
          ? `neither ${this.line.binary.name} nor containerd's source at ${this.line.source.tag} has one`
          : `containerd's source at ${this.line.source.tag} has none`;
        here.problem(`no containerd ${this.line.line} plugin is named "${id}": ${evidence}, so containerd would ignore this table${this.hint(id, known)}`);
      }
    }
  }

  walk(tree: KeyTree, value: unknown, at: Locator, path: readonly string[]): void {
    if (tree === true || !isTable(value)) return;
    for (const [key, item] of Object.entries(value)) {
      const here = [...path, key];
      if (this.skip(here)) continue;
      const child = keyChild(tree, key);
      if (child !== undefined) {
        this.walk(child, item, at.child(key), here);
        continue;
      }
      const addition = this.line.additions.find((a) => a.path.length === here.length && a.path.every((p, i) => p === "*" || p === here[i]));
      if (addition) {
        if (!versionAtLeast(this.version, addition.since)) {
          at.child(key).problem(`containerd ${this.version} does not read "${key}" here: it was added in containerd ${addition.since}`);
        }
        continue;
      }
      const elsewhere = this.elsewhere(here);
      const hint = elsewhere.length > 0 ? `; containerd ${this.line.line} reads it under ${elsewhere.map((p) => `plugins."${p}"`).join(" and ")}` : this.hint(key, knownKeys(tree));
      at.child(key).problem(`containerd ${this.line.line} does not read "${key}" here: the config dump of ${this.line.binary!.name} does not report it, so containerd would ignore it${hint}`);
    }
  }

  private hint(input: string, known: readonly string[]): string {
    const suggestion = closest(input, known);
    if (suggestion) return `; did you mean "${suggestion}"?`;
    return known.length > 0 ? `; known here: ${known.join(", ")}` : "; this table takes no keys";
  }

  /** Other plugins where the same key, at the same place below the plugin, is read (a key written under the wrong plugin). */
  private elsewhere(path: readonly string[]): string[] {
    const binary = this.binaryPlugins;
    if (!binary || path[0] !== "plugins" || path.length < 3) return [];
    const rest = path.slice(2);
    return knownKeys(binary).filter((id) => id !== path[1] && resolve(binary[id]!, rest) !== undefined);
  }
}

function resolve(tree: KeyTree, path: readonly string[]): KeyTree | undefined {
  let node: KeyTree | undefined = tree;
  for (const key of path) {
    if (node === undefined) return undefined;
    if (node === true) return true;
    node = keyChild(node, key);
  }
  return node;
}

function checkTomlValues(value: unknown, at: Locator): void {
  if (value === null) {
    at.problem("null has no TOML representation; leave the key out instead");
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => checkTomlValues(item, at.child(i)));
  } else if (typeof value === "object") {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) checkTomlValues(item, at.child(key));
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
