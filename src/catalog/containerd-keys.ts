import catalog from "./containerd-keys.json";

/**
 * The config keys each containerd line reads, so an override containerd would ignore is refused at
 * plan time. Written by `npm run containerd-keys` (tools/containerd-keys/) and checked against the real
 * binaries by test/real/containerd-keys.real.test.ts:
 * - `keys`: the key tree a real containerd of the line reports (`containerd config default`, plus
 *   `config dump` of a probe file that fills the tables empty by default), for the Debian builds
 *   available here (1.6.20, 1.7.24, 2.1.9);
 * - `additions`: keys later patch releases of the line added, read in containerd's source;
 * - `source`: the plugin IDs that take a config and the top-level keys, read in containerd's source at the
 *   line's newest tag: they cover lines without a binary here (2.0, 2.2, 2.3) and plugins Debian's build leaves out.
 */

/** `true`: a value (or a table whose keys are the plugin's own business); a table: its known keys; `*`: any name. */
export type KeyTree = true | { readonly [key: string]: KeyTree };
export type KeyTable = { readonly [key: string]: KeyTree };

export interface KeyAddition {
  readonly path: readonly string[];
  /** First release of the line that reads the key. */
  readonly since: string;
  readonly commit: string;
}

export interface ContainerdKeyLine {
  readonly line: string;
  /** The binary the key tree was captured from; absent for lines without one here. */
  readonly binary?: { readonly name: string; readonly version: string };
  readonly keys?: KeyTable;
  readonly additions: readonly KeyAddition[];
  readonly source: {
    readonly tag: string;
    readonly commit: string;
    /** Plugin IDs that take a config table (`plugins."<id>"`). */
    readonly plugins: readonly string[];
    readonly topLevel: readonly string[];
  };
}

interface Catalog {
  readonly lines: Readonly<Record<string, Omit<ContainerdKeyLine, "line">>>;
}

const LINES = (catalog as unknown as Catalog).lines;

/** The key facts of a release line ("2.1"), or undefined when kubeplug has none for it. */
export function containerdKeyLine(line: string): ContainerdKeyLine | undefined {
  const entry = LINES[line];
  return entry ? { line, ...entry } : undefined;
}

/** The subtree of `key` in a table: the key itself or the table's `*` (any name). */
export function keyChild(table: KeyTable, key: string): KeyTree | undefined {
  return Object.hasOwn(table, key) ? table[key] : table["*"];
}

/** The names a table knows, without its wildcard. */
export function knownKeys(table: KeyTable): string[] {
  return Object.keys(table).filter((k) => k !== "*").sort();
}
