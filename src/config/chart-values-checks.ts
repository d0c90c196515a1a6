import Ajv2019, { ValidateFunction } from "ajv/dist/2019";
import { chartValuesSchema, kubeplugChartValues, mergeValues } from "../catalog/storage";
import { UPSTREAM_KUBELET_DIR } from "../catalog/storage/manifests";
import { StorageDriverEntry } from "../catalog/storage/types";
import { describeValue } from "./path";
import { Locator } from "./findings";

const compiled = new Map<string, ValidateFunction>();

function validator(entry: StorageDriverEntry, schema: Record<string, unknown>): ValidateFunction {
  let validate = compiled.get(entry.id);
  if (!validate) {
    validate = new Ajv2019({ strict: false, allErrors: true }).compile(schema);
    compiled.set(entry.id, validate);
  }
  return validate;
}

/** Dotted paths of every leaf of a values tree. */
function leaves(values: Readonly<Record<string, unknown>>, prefix: string[] = []): string[][] {
  return Object.entries(values).flatMap(([key, value]) =>
    typeof value === "object" && value !== null && !Array.isArray(value) ? leaves(value as Record<string, unknown>, [...prefix, key]) : [[...prefix, key]],
  );
}

const valueAt = (values: unknown, path: readonly string[]) => path.reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined), values);

/**
 * A stack's chart values: what kubeplug sets (the kubelet's root, the bundled snapshotter off) is not the
 * stack's to change, and the merge Helm validates (chart defaults, kubeplug's, the stack's) must pass the
 * chart's values.schema.json where it ships one, or `helm install` refuses it at deploy time.
 */
export function checkChartValues(entry: StorageDriverEntry, values: Readonly<Record<string, unknown>>, at: Locator): void {
  // The kubelet root only has to be a string to the schema, so the upstream default stands in for the cluster's.
  const ours = kubeplugChartValues(entry, UPSTREAM_KUBELET_DIR);
  const kubeletPath = entry.kubeletDir && "valuesPath" in entry.kubeletDir ? entry.kubeletDir.valuesPath : undefined;
  for (const path of leaves(ours)) {
    if (valueAt(values, path) === undefined) continue;
    const why = path.join(".") === kubeletPath ? "from kubeplug:cluster.kubelet.rootDir" : "kubeplug installs the snapshot CRDs and controller once, for every driver";
    at.child(...path).problem(`kubeplug sets ${path.join(".")} itself (${why}); remove it from values`);
  }
  const vendored = chartValuesSchema(entry);
  if (!vendored) return;
  const validate = validator(entry, vendored.schema);
  if (validate(mergeValues(mergeValues(vendored.defaults, ours), values))) return;
  for (const error of validate.errors ?? []) {
    const path = error.instancePath.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const extra = (error.params as { additionalProperty?: string }).additionalProperty;
    const here = at.child(...path, ...(extra ? [extra] : []));
    if (extra) here.problem(`the ${entry.install.kind === "helm" ? entry.install.chart : entry.id} chart's values.schema.json has no value "${extra}" here`);
    else here.problem(`${describeValue(valueAt(values, path))} ${error.message ?? "is refused"} (the chart's values.schema.json)`);
  }
}
