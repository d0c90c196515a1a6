import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, describe, expect, it } from "vitest";
import { containerdKeyLine } from "../../src/catalog/containerd-keys";
import { parseStackFile } from "../../src/config/stack";
import { KubeplugConfigError } from "../../src/errors";
import { planCluster } from "../../src/plan/cluster-plan";
import { captureKeys } from "../../tools/containerd-keys/capture";
import { CAPTURED_LINES } from "../../tools/containerd-keys/cli";
import { containerdBinDir, debianContainerdName, debianContainerdVersion, DebianContainerdLine } from "../support/containerd-binaries";
import { missingTools } from "../support/tools";

// The key catalog that overrides are checked against (src/catalog/containerd-keys.json) must be what the
// real binaries report, and the check must agree with them: a key kubeplug refuses is one containerd's
// `config dump` drops, a key it accepts is one the dump reports back. Debian's 1.6.20, 1.7.24 and 2.1.9
// are the binaries here; 2.0, 2.2 and 2.3 have none (their plugin names come from containerd's source,
// and the keys inside them are not checked: see docs/runtimes.md).
const skip = missingTools(["apt-get", "dpkg-deb"]);
const work = mkdtempSync(join(tmpdir(), "kubeplug-keys-real-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Table = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CRI: Record<DebianContainerdLine, { runtime: string; images: string }> = {
  "1.6": { runtime: "io.containerd.grpc.v1.cri", images: "io.containerd.grpc.v1.cri" },
  "1.7": { runtime: "io.containerd.grpc.v1.cri", images: "io.containerd.grpc.v1.cri" },
  "2.1": { runtime: "io.containerd.cri.v1.runtime", images: "io.containerd.cri.v1.images" },
};

function stack(version: string, overrides: Record<string, unknown>): string {
  return `config:
  kubeplug:cluster:
    name: keys
    kubelet: { cgroupDriver: systemd }
    ssh: { user: root, privateKeyPath: /dev/null, insecureSkipHostKeyCheck: true }
    pools:
      - name: p
        runtime:
          kind: containerd
          version: ${version}
          install: { from: package }
          overrides: ${JSON.stringify(overrides)}
    nodes:
      - { name: n1, pool: p, address: 192.0.2.1 }
`;
}

/** The rendered config.toml, or the problems kubeplug refuses the overrides with. */
function render(version: string, overrides: Record<string, unknown>): { configToml?: string; problems: string[] } {
  try {
    const plan = planCluster(parseStackFile("keys", stack(version, overrides), "stacks/keys.yaml").config);
    return { configToml: plan.pools[0]!.containerd!.configToml, problems: [] };
  } catch (error) {
    if (!(error instanceof KubeplugConfigError)) throw error;
    return { problems: error.problems.map((p) => `${p.path}: ${p.message}`) };
  }
}

function dump(line: DebianContainerdLine, configToml: string): { dumped: Table; stderr: string } {
  const file = join(work, `config-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, configToml);
  const run = spawnSync(join(containerdBinDir(line), "containerd"), ["--config", file, "config", "dump"], { encoding: "utf8" });
  expect(run.status, run.stderr).toBe(0);
  return { dumped: parse(run.stdout) as Table, stderr: run.stderr };
}

/** The value at a path of a parsed TOML tree. */
const at = (tree: Table, path: readonly string[]): unknown => path.reduce<unknown>((node, key) => (node as Table | undefined)?.[key], tree);

describe.skipIf(skip)(`containerd key catalog against the real binaries${skip ? ` (skipped: ${skip})` : ""}`, () => {
  describe.each(CAPTURED_LINES)("containerd %s", (line) => {
    const version = debianContainerdVersion(line);
    const cri = CRI[line];

    it(`the checked-in key tree is what ${debianContainerdName(line)} reports (npm run containerd-keys rewrites it)`, () => {
      const entry = containerdKeyLine(line)!;
      const capture = captureKeys(containerdBinDir(line), line.startsWith("1.") ? 2 : 3);
      expect(entry.binary).toEqual({ name: debianContainerdName(line), version: capture.version });
      expect(capture.version).toBe(version);
      expect(entry.keys).toEqual(capture.keys);
      expect(capture.emptyTables).toEqual([]);
    });

    it("a misspelt key is refused by kubeplug and dropped by containerd's config dump", () => {
      const typo = { plugins: { [cri.runtime]: { selinux_category_rangee: 2048 } } };
      expect(render(version, typo).problems).toEqual([
        expect.stringMatching(new RegExp(`selinux_category_rangee: containerd ${line} does not read .*did you mean "selinux_category_range"\\?$`)),
      ]);
      // The same file, rendered without kubeplug's check (the key placed by hand): containerd drops the key.
      const rendered = render(version, { plugins: { [cri.runtime]: { selinux_category_range: 2048 } } }).configToml!;
      const { dumped } = dump(line, rendered.replace("selinux_category_range = 2048", "selinux_category_rangee = 2048"));
      expect(dumped.plugins[cri.runtime].selinux_category_rangee).toBeUndefined();
      expect(dumped.plugins[cri.runtime].selinux_category_range).toBe(1024);
    });

    it("a plugin that does not exist is refused; containerd has no plugin reading it", () => {
      // One letter off the line's CRI plugin (1.x: a config version 3 name is refused as such, see bad-config 30).
      const misspelt = line.startsWith("1.") ? "io.containerd.grpc.v1.crii" : "io.containerd.cri.v1.runtme";
      expect(render(version, { plugins: { [misspelt]: { selinux_category_range: 2048 } } }).problems).toEqual([
        expect.stringMatching(new RegExp(`plugins\\["${misspelt.replace(/\./g, "\\.")}"\\]: no containerd ${line} plugin is named .*did you mean "${cri.runtime}"\\?$`)),
      ]);
      // The table written by hand into kubeplug's rendered file, as an unchecked override would put it there.
      const rendered = render(version, {}).configToml!;
      const { dumped } = dump(line, `${rendered}\n[plugins."${misspelt}"]\nselinux_category_range = 2048\n`);
      // 2.x's dump keeps a table it has no plugin for, as written; 1.x's drops it. Either way no plugin reads it,
      // which is why kubeplug checks plugin names against the plugins the binary registers, not against the echo.
      if (line.startsWith("1.")) expect(dumped.plugins[misspelt]).toBeUndefined();
      else expect(dumped.plugins[misspelt]).toEqual({ selinux_category_range: 2048 });
      expect(dumped.plugins[cri.runtime].selinux_category_range).toBe(1024);
    });

    it("known keys and free-form tables are accepted, and containerd reports each of them back", () => {
      const runtimes = ["plugins", cri.runtime, "containerd", "runtimes"];
      const registry = ["plugins", cri.images, "registry"];
      const overrides: Table = {
        plugins: {
          [cri.runtime]: {
            selinux_category_range: 2048,
            cni: { max_conf_num: 2 },
            containerd: { runtimes: { "extra-handler": { runtime_type: "io.containerd.runc.v2", options: { BinaryName: "/usr/bin/extra", NoNewKeyring: true } } } },
          },
          "io.containerd.gc.v1.scheduler": { pause_threshold: 0.05 },
        },
        timeouts: { "io.containerd.timeout.shim.cleanup": "7s" },
        proxy_plugins: { "probe-snapshotter": { type: "snapshot", address: "/run/probe.sock" } },
      };
      const images = (overrides.plugins[cri.images] ??= {}) as Table;
      images.registry = { headers: { "X-Probe": ["yes"] } };
      if (line === "2.1") images.pinned_images = { extra: "registry.example/tool:1" };
      const rendered = render(version, overrides);
      expect(rendered.problems).toEqual([]);
      const { dumped } = dump(line, rendered.configToml!);
      expect(dumped.plugins[cri.runtime].selinux_category_range).toBe(2048);
      expect(dumped.plugins[cri.runtime].cni.max_conf_num).toBe(2);
      expect(at(dumped, [...runtimes, "extra-handler", "options"])).toMatchObject({ BinaryName: "/usr/bin/extra", NoNewKeyring: true });
      expect(dumped.plugins["io.containerd.gc.v1.scheduler"].pause_threshold).toBe(0.05);
      expect(dumped.timeouts["io.containerd.timeout.shim.cleanup"]).toBe("7s");
      expect(dumped.proxy_plugins["probe-snapshotter"]).toMatchObject({ type: "snapshot", address: "/run/probe.sock" });
      expect(at(dumped, [...registry, "headers", "X-Probe"])).toEqual(["yes"]);
      if (line === "2.1") expect(dumped.plugins[cri.images].pinned_images.extra).toBe("registry.example/tool:1");
    });
  });

  it("containerd 2.1 logs a misspelt key of a known plugin, and is silent about a table no plugin reads", () => {
    const rendered = render("2.1.9", { plugins: { "io.containerd.cri.v1.runtime": { selinux_category_range: 2048 } } }).configToml!;
    const typo = dump("2.1", rendered.replace("selinux_category_range = 2048", "selinux_category_rangee = 2048"));
    expect(typo.stderr).toMatch(/Ignoring unknown key in TOML for plugin.*key=selinux_category_rangee plugin=io.containerd.cri.v1.runtime/);
    const plugin = dump("2.1", `${render("2.1.9", {}).configToml!}\n[plugins."io.containerd.cri.v1.runtme"]\nselinux_category_range = 2048\n`);
    expect(plugin.stderr).not.toMatch(/runtme/);
  });
});
