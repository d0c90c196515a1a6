import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { GOLDEN_CASES, planGoldenCase } from "../support/golden-cases";

// CRI-O cannot run here, and it ignores unknown keys silently, so every key kubeplug writes is checked
// against CRI-O's own config model (cri-o v1.36.3, test/fixtures/crio/config-reference.json) and
// containers/image's registries.conf model (registries-reference.json): table, key, type, allowed values.
const fixtures = join(__dirname, "..", "fixtures", "crio");
interface KeySpec {
  type: string;
  values?: string[];
}
const config = JSON.parse(readFileSync(join(fixtures, "config-reference.json"), "utf8")) as { tables: Record<string, { keys: Record<string, KeySpec> }> };
const registries = JSON.parse(readFileSync(join(fixtures, "registries-reference.json"), "utf8")) as {
  registriesConf: { tables: Record<string, { keys: Record<string, KeySpec> }> };
};

type Table = Record<string, unknown>;

function typeOf(value: unknown): string {
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number" || typeof value === "bigint") return "integer";
  if (Array.isArray(value)) return value.every((v) => typeof v === "string") ? "array of strings" : "array";
  return "table";
}

/** Every leaf of a TOML tree as [reference table name, key, value]; handler tables map to `runtimes.*`. */
function leaves(table: Table, path: string[] = []): [string, string, unknown][] {
  const tableName = path.join(".").replace(/^crio\.runtime\.runtimes\.[^.]+$/, "crio.runtime.runtimes.*");
  return Object.entries(table).flatMap(([key, value]) => {
    const spec = config.tables[tableName]?.keys[key];
    if (typeOf(value) === "table" && spec?.type !== "table") return leaves(value as Table, [...path, key]);
    return [[tableName, key, value] as [string, string, unknown]];
  });
}

function expectKnown(reference: Record<string, { keys: Record<string, KeySpec> }>, tableName: string, key: string, value: unknown): void {
  const spec = reference[tableName]?.keys[key];
  expect(spec, `${tableName}.${key} is not a key CRI-O reads`).toBeDefined();
  expect(typeOf(value), `${tableName}.${key} type`).toBe(spec!.type);
  if (spec!.values && typeof value === "string") expect(spec!.values, `${tableName}.${key} value`).toContain(value);
}

const crioCases = GOLDEN_CASES.filter((c) => c.startsWith("crio-"));

describe("the reference check itself", () => {
  it("refuses a misspelt key, a wrong type and a value outside the allowed set", () => {
    expect(() => expectKnown(config.tables, "crio.runtime", "conmon_cgroups", "pod")).toThrow(/not a key CRI-O reads/);
    expect(() => expectKnown(config.tables, "crio.runtime", "log_size_max", "8192")).toThrow(/type/);
    expect(() => expectKnown(config.tables, "crio.runtime", "cgroup_manager", "cgroupv2")).toThrow(/value/);
  });
});

describe.each(crioCases)("CRI-O drop-in of %s against cri-o v1.36.3's config model", (name) => {
  const rendered = planGoldenCase(name).pools[0]!.crio!;

  it("uses only tables and keys CRI-O reads, with their types and allowed values", () => {
    const tree = parse(rendered.dropIn.content) as Table;
    const found = leaves(tree);
    expect(found.length).toBeGreaterThan(10);
    for (const [table, key, value] of found) expectKnown(config.tables, table, key, value);
  });

  it("names a default runtime that has a handler table (CRI-O refuses to start otherwise)", () => {
    const runtime = (parse(rendered.dropIn.content) as { crio: { runtime: { default_runtime: string; runtimes: Table } } }).crio.runtime;
    expect(Object.keys(runtime.runtimes)).toContain(runtime.default_runtime);
  });

  it("writes registries.conf.d entries with the keys containers/image reads", () => {
    const tree = parse(rendered.registriesConf.content) as Table & { registry?: Table[] };
    const reg = registries.registriesConf.tables;
    for (const [key, value] of Object.entries(tree)) if (key !== "registry") expectKnown(reg, "<root>", key, value);
    for (const entry of tree.registry ?? []) {
      for (const [key, value] of Object.entries(entry)) {
        if (key === "mirror") {
          for (const mirror of value as Table[]) for (const [k, v] of Object.entries(mirror)) expectKnown(reg, "registry.mirror", k, v);
        } else {
          expectKnown(reg, "registry", key, value);
        }
      }
      expect(String(entry.location)).not.toMatch(/^[a-z]+:\/\//);
    }
  });
});
