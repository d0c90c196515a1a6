/**
 * What containerd's source says at a tag, read from a git directory (e.g. the `fetch` mirror of
 * github:containerd/containerd): the plugin IDs that register a config, and the top-level config keys.
 *
 * Plugins: every `Register(&plugin.Registration{ Type: …, ID: …, Config: … })` in the Linux build of the
 * containerd daemon: the module's own non-test Go files (not Windows/Darwin/FreeBSD/Solaris ones, not other
 * binaries under cmd/), plus the vendored packages the daemon's builtins import blank (aufs, zfs). Checked
 * against the binaries here: at v2.1.9 and v1.7.24 this gives exactly the plugins Debian's build lists in
 * `containerd config default`, except zfs (2.1.9) and the two tracing plugins (1.6.20), which Debian's
 * builds leave out; see test/real/containerd-keys.real.test.ts and docs/runtimes.md.
 */
import { execFileSync } from "node:child_process";

function git(gitDir: string, ...args: string[]): string {
  return execFileSync("git", ["--git-dir", gitDir, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

const OTHER_OS = /_(windows|darwin|freebsd|solaris|openbsd)\.go$|(^|\/)windows\//;

export function commitOf(gitDir: string, tag: string): string {
  return git(gitDir, "rev-parse", `${tag}^{commit}`).trim();
}

export function pluginsFromSource(gitDir: string, tag: string): string[] {
  const all = git(gitDir, "ls-tree", "-r", "--name-only", tag).split("\n");
  const show = (file: string) => git(gitDir, "show", `${tag}:${file}`);
  const files = all.filter(
    (f) => f.endsWith(".go") && !f.endsWith("_test.go") && !OTHER_OS.test(f) && !/^(vendor|integration|api|contrib|test)\//.test(f) && !/^cmd\/(?!containerd\/)/.test(f),
  );
  const builtins = all.filter((f) => /^cmd\/containerd\/(builtins\/)?builtins.*\.go$/.test(f) && !OTHER_OS.test(f));
  for (const file of builtins) {
    for (const [, imp] of show(file).matchAll(/_ "([^"]+)"/g)) {
      if (imp!.startsWith("github.com/containerd/containerd")) continue;
      const dir = `vendor/${imp}/`;
      files.push(...all.filter((f) => f.startsWith(dir) && !f.slice(dir.length).includes("/") && f.endsWith(".go") && !f.endsWith("_test.go")));
    }
  }
  // Plugin types (plugins/types.go in 2.x, plugin/plugin.go in 1.x) and service IDs (services.go).
  const types = new Map<string, string>();
  for (const file of ["plugins/types.go", "plugin/plugin.go"].filter((f) => all.includes(f))) {
    for (const [, name, value] of show(file).matchAll(/(\w+)\s+(?:plugin\.)?Type\s*=\s*"([^"]+)"/g)) types.set(name!, value!);
  }
  const globals = new Map<string, string>();
  for (const file of all.filter((f) => /(^|\/)services\/services\.go$/.test(f) && !f.startsWith("vendor/"))) {
    for (const [, name, value] of show(file).matchAll(/(\w+)\s*=\s*"([^"]+)"/g)) globals.set(name!, value!);
  }
  const ids = new Set<string>();
  for (const file of files) {
    const text = show(file);
    if (!text.includes("Register(&plugin.Registration{")) continue;
    const consts = new Map(globals);
    for (const [, name, value] of text.matchAll(/(\w+)\s*=\s*"([^"]+)"/g)) consts.set(name!, value!);
    for (const block of text.split("Register(&plugin.Registration{").slice(1)) {
      const body = block.split(/\n\t\}\)|\n\t\t\}\)/)[0]!;
      if (!/\bConfig:/.test(body)) continue;
      const type = /Type:\s*(?:plugins?\.)?(\w+)/.exec(body)?.[1];
      const id = /ID:\s*(?:"([^"]+)"|(?:\w+\.)?(\w+))/.exec(body);
      const typeValue = type && types.get(type);
      const idValue = id && (id[1] ?? consts.get(id[2]!));
      if (!typeValue || !idValue) throw new Error(`${tag}:${file}: cannot resolve a plugin registration (Type ${type}, ID ${id?.[0]})`);
      ids.add(`${typeValue}.${idValue}`);
    }
  }
  return [...ids].sort();
}

/** The toml keys of the server's Config struct. */
export function topLevelFromSource(gitDir: string, tag: string): string[] {
  const file = ["cmd/containerd/server/config/config.go", "services/server/config/config.go"].find((f) => git(gitDir, "ls-tree", "--name-only", tag, f).trim() === f);
  if (!file) throw new Error(`${tag}: no server config source`);
  const text = git(gitDir, "show", `${tag}:${file}`);
  const struct = /\ntype Config struct \{\n([\s\S]*?)\n\}/.exec(text)?.[1];
  if (!struct) throw new Error(`${tag}:${file}: no Config struct`);
  return [...struct.matchAll(/toml:"([^",]+)/g)].map((m) => m[1]!).sort();
}
