import { readFileSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";
import { StorageDriverEntry } from "./types";

export type ChartValues = Readonly<Record<string, unknown>>;

const isMap = (v: unknown): v is ChartValues => typeof v === "object" && v !== null && !Array.isArray(v);

/** Helm's own rule for values files: maps merge key by key, anything else is replaced. */
export function mergeValues(base: ChartValues, over: ChartValues): ChartValues {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = isMap(out[key]) && isMap(value) ? mergeValues(out[key] as ChartValues, value) : value;
  return out;
}

/**
 * The values.schema.json a chart ships and the chart's own values.yaml (Helm validates the merge of
 * both with the user's values), vendored side by side under values-schemas/ as `<id>.schema.json` and
 * `<id>.values.yaml`. Undefined for charts that ship no schema.
 */
export function chartValuesSchema(entry: StorageDriverEntry): { readonly schema: Record<string, unknown>; readonly defaults: ChartValues } | undefined {
  if (entry.install.kind !== "helm" || !entry.install.valuesSchema) return undefined;
  const dir = join(__dirname, "values-schemas");
  const file = entry.install.valuesSchema;
  return {
    schema: JSON.parse(readFileSync(join(dir, file), "utf8")) as Record<string, unknown>,
    defaults: yaml.load(readFileSync(join(dir, file.replace(/\.schema\.json$/, ".values.yaml")), "utf8")) as ChartValues,
  };
}
