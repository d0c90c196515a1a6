import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv, { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { CniProviderSettingsInput, parseCniProvider } from "../../../src/config/cni-provider";
import { HelmValues, providerValues } from "../../../src/components/network/providers/values";

// The rendered values are checked against what each pinned chart accepts, read from the chart at its
// tag (test/fixtures/providers/<kind>/SOURCE.md): Cilium's values.schema.json; for Calico, whose chart
// has no schema, the Installation CRD that `installation` becomes verbatim, plus values.yaml's top
// level; for Flannel, also schema-less, the keys values.yaml declares or a template reads.
//
// Helm and the API server ignore (or prune) keys they do not know, so a misspelt key would deploy
// with the chart's default. The schemas are therefore closed here: every object that lists its
// properties refuses others. The "catches" tests prove each check refuses a misspelt key.

const fixtures = join(__dirname, "..", "..", "fixtures", "providers");
type Schema = { [key: string]: unknown };

/** A copy of a JSON schema in which objects that list properties allow no others. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== "object") return schema;
  const copy: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    // `properties` maps names to schemas: recurse into each schema, never treat the map itself as one.
    copy[key] = key === "properties" ? Object.fromEntries(Object.entries(value as Schema).map(([name, sub]) => [name, closed(sub)])) : closed(value);
  }
  if (copy.properties && copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy;
}

/** `open` compiles the schema as shipped, which is what Helm checks; otherwise the closed copy. */
function compile(schema: unknown, open = false): ValidateFunction {
  // strict: false because Kubernetes' x-kubernetes-* keywords are not JSON Schema; ajv-formats knows
  // the formats used (int32, int64, byte, date-time).
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile((open ? schema : closed(schema)) as Schema);
}

function errorsOf(validate: ValidateFunction, data: unknown): string[] {
  return validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}

/** Dotted paths of every leaf (arrays count as leaves, as Helm's values merge treats them). */
function leafPaths(value: unknown, prefix = ""): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, sub]) => leafPaths(sub, prefix ? `${prefix}.${key}` : key));
}

/** Every dotted path of a values.yaml, inner maps included. */
function declaredPaths(value: unknown, prefix = ""): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, sub]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...declaredPaths(sub, path)];
  });
}

const render = (input: CniProviderSettingsInput): HelmValues => providerValues(parseCniProvider(input));

// Each setting every way it can be set, so every branch of the renderers meets the chart's schema.
const CALICO: CniProviderSettingsInput[] = [
  { kind: "calico", podCIDR: "192.168.0.0/16" },
  { kind: "calico", podCIDR: "10.244.0.0/16", encapsulation: "IPIPCrossSubnet", mtu: 1440, natOutgoing: false },
  { kind: "calico", podCIDR: "10.244.0.0/16", encapsulation: "None" },
  { kind: "calico", podCIDR: "10.244.0.0/16", encapsulation: "VXLAN", bgp: false, mtu: 1450 },
  { kind: "calico", podCIDR: "10.244.0.0/26", encapsulation: "VXLANCrossSubnet", bgp: false },
];
const CILIUM: CniProviderSettingsInput[] = [
  { kind: "cilium", podCIDR: "10.0.0.0/8" },
  { kind: "cilium", podCIDR: "10.244.0.0/16", routing: "geneve", mtu: 9000, exclusive: false },
  { kind: "cilium", podCIDR: "10.244.0.0/16", routing: "native", kubeProxyReplacement: true, k8sServiceHost: "10.231.0.11", k8sServicePort: 6443 },
  { kind: "cilium", podCIDR: "10.244.0.0/24", k8sServiceHost: "api.cluster.internal", k8sServicePort: 443 },
];
const FLANNEL: CniProviderSettingsInput[] = [
  { kind: "flannel", podCIDR: "10.244.0.0/16" },
  { kind: "flannel", podCIDR: "10.244.0.0/16", mtu: 1450 },
  { kind: "flannel", podCIDR: "10.244.0.0/16", backend: "host-gw" },
  { kind: "flannel", podCIDR: "10.244.0.0/16", backend: "wireguard", mtu: 1420 },
];
const label = (input: CniProviderSettingsInput) => JSON.stringify(input);

describe("Cilium 1.20.0: values.schema.json", () => {
  const schema = JSON.parse(readFileSync(join(fixtures, "cilium", "values.schema.json"), "utf8")) as Schema;
  const validateAsShipped = compile(schema, true);
  const validate = compile(schema);

  it.each(CILIUM.map((input) => [label(input), input] as const))("%s", (_, input) => {
    const values = render(input);
    expect(errorsOf(validateAsShipped, values)).toEqual([]);
    expect(errorsOf(validate, values)).toEqual([]);
    // What the schema cannot say: the configmap template fails unless kubeProxyReplacement renders as
    // "true" or "false", and native routing needs the CIDR routed without masquerading.
    expect(["true", "false"]).toContain(String(values.kubeProxyReplacement));
    if (values.routingMode === "native") expect(values.ipv4NativeRoutingCIDR).toBe(input.podCIDR);
  });

  it("catches a misspelt key, which the shipped (open) schema lets through", () => {
    const values = { ...render(CILIUM[0]!), tunelProtocol: "geneve" };
    expect(errorsOf(validateAsShipped, values)).toEqual([]);
    expect(errorsOf(validate, values)).toEqual(['/ must NOT have additional properties {"additionalProperty":"tunelProtocol"}']);
  });

  it("catches a value of the wrong type", () => {
    expect(errorsOf(validateAsShipped, { ...render(CILIUM[0]!), MTU: "1450" })).toEqual(['/MTU must be integer {"type":"integer"}']);
  });
});

describe("Calico v3.32.1: Installation CRD and values.yaml (the chart has no schema)", () => {
  const chartDefaults = yaml.load(readFileSync(join(fixtures, "calico", "values.yaml"), "utf8")) as Schema;
  const crd = yaml.load(readFileSync(join(fixtures, "calico", "operator.tigera.io_installations.yaml"), "utf8")) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: { properties: { spec: Schema } } } }[] };
  };
  const v1 = crd.spec.versions.find((v) => v.name === "v1")!;
  const validateSpec = compile(v1.schema.openAPIV3Schema.properties.spec);

  // templates/crs/custom-resources.yaml: `$installSpec := omit .Values.installation "enabled"` becomes the spec.
  const installationSpec = (values: HelmValues) => {
    const { enabled: _enabled, ...spec } = values.installation as Schema;
    return spec;
  };

  it("finds no values.schema.json in the chart, so the fixture has none", () => {
    expect(readdirSync(join(fixtures, "calico"))).not.toContain("values.schema.json");
  });

  it.each(CALICO.map((input) => [label(input), input] as const))("%s", (_, input) => {
    const values = render(input);
    expect(Object.keys(values).filter((key) => !(key in chartDefaults))).toEqual([]);
    expect(errorsOf(validateSpec, installationSpec(values))).toEqual([]);
  });

  it("catches a misspelt Installation field and a bad enum value", () => {
    const values = render(CALICO[0]!) as { installation: { calicoNetwork: Schema } };
    const misspelt = { installation: { calicoNetwork: { ...values.installation.calicoNetwork, ipPool: [] } } };
    expect(errorsOf(validateSpec, installationSpec(misspelt))).toEqual(['/calicoNetwork must NOT have additional properties {"additionalProperty":"ipPool"}']);
    const badBgp = { installation: { calicoNetwork: { ...values.installation.calicoNetwork, bgp: "On" } } };
    expect(errorsOf(validateSpec, installationSpec(badBgp))[0]).toMatch(/^\/calicoNetwork\/bgp must be equal to one of the allowed values/);
  });
});

describe("Flannel v0.28.9: values.yaml keys and template references (the chart has no schema)", () => {
  const dir = join(fixtures, "flannel");
  const chartDefaults = yaml.load(readFileSync(join(dir, "values.yaml"), "utf8"));
  const templates = readdirSync(join(dir, "templates")).map((file) => readFileSync(join(dir, "templates", file), "utf8"));
  const read = new Set(templates.flatMap((text) => [...text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => m[1]!.slice(1))));
  const known = new Set([...declaredPaths(chartDefaults), ...read]);
  const unknownKeys = (values: HelmValues) => leafPaths(values).filter((path) => !known.has(path));

  it("finds no values.schema.json in the chart, so the fixture has none", () => {
    expect(readdirSync(dir)).not.toContain("values.schema.json");
  });

  it.each(FLANNEL.map((input) => [label(input), input] as const))("%s", (_, input) => {
    const values = render(input);
    expect(unknownKeys(values)).toEqual([]);
    // Keys with a default keep its type (podCidr and backend are strings in values.yaml).
    for (const path of leafPaths(values)) {
      const fallback = path.split(".").reduce<unknown>((node, key) => (node as Schema | undefined)?.[key], chartDefaults);
      if (fallback !== undefined) expect(typeof lookup(values, path), path).toBe(typeof fallback);
    }
  });

  it("accepts mtu only because a template reads it (values.yaml has it as a comment)", () => {
    expect(declaredPaths(chartDefaults)).not.toContain("flannel.mtu");
    expect(read).toContain("flannel.mtu");
  });

  it("catches a misspelt key", () => {
    expect(unknownKeys({ podCidr: "10.244.0.0/16", flannel: { backend: "vxlan", mut: 1450 } })).toEqual(["flannel.mut"]);
  });
});

function lookup(values: HelmValues, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (node as Schema)[key], values);
}
