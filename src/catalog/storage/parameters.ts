import { z } from "zod";

/**
 * Building blocks of the drivers' StorageClass parameter schemas.
 *
 * Kubernetes hands a driver its parameters as strings (map[string]string), and a stack file is YAML, where
 * `iops: 3000` is a number and `iops: "3000"` a string. The policy, the same for every driver: a text
 * parameter takes a string; an integer takes an integer or a string of decimal digits; a flag takes
 * true/false or the strings "true"/"false" (drivers such as EBS compare against "true" exactly, so "True" or
 * "yes" would silently mean false); a choice takes one of its strings exactly as the driver matches it.
 * The schemas only check: the StorageClass renderer writes each value as YAML prints it (`String(v)`).
 */

/** What docs/storage.md says of a parameter: its type and limits, as readers of the stack file need them. */
export interface ParameterDoc {
  readonly type: string;
  readonly description: string;
}

const docs = new WeakMap<z.ZodType, ParameterDoc>();

function documented<T extends z.ZodType>(schema: T, type: string, description: string): T {
  docs.set(schema, { type, description });
  return schema;
}

/** The type and description a parameter was built with. */
export function parameterDoc(schema: z.ZodType): ParameterDoc {
  const doc = docs.get(schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema);
  if (!doc) throw new Error("a storage parameter built without the helpers in src/catalog/storage/parameters.ts");
  return doc;
}

const show = (value: unknown) => JSON.stringify(value);
/** A parameter the schema requires and the class does not set reaches the type check as undefined. */
const missingOr = (input: unknown, expected: string, otherwise: string) => (input === undefined ? `required, expected ${expected}` : otherwise);

export function text(description: string, pattern?: { readonly regex: RegExp; readonly says: string }) {
  const base = z.string({ error: (issue) => missingOr(issue.input, "a string", `expected a string, got ${show(issue.input)}`) }).min(1, { error: "must not be empty" });
  const schema = pattern ? base.regex(pattern.regex, { error: (issue) => `${show(issue.input)} is not ${pattern.says}` }) : base;
  return documented(schema, pattern ? `string (${pattern.says})` : "string", description);
}

/** An integer in a YAML number or a string of digits, as the driver's strconv.ParseInt reads it. */
export function integer(description: string, limits: { readonly min?: number; readonly max?: number; readonly unit?: string } = {}) {
  const unit = limits.unit ? ` ${limits.unit}` : "";
  const schema = z.union([z.number(), z.string()], { error: (issue) => missingOr(issue.input, "an integer", `expected an integer, got ${show(issue.input)}`) }).superRefine((value, ctx) => {
    const n = asInteger(value);
    if (n === undefined) ctx.addIssue({ code: "custom", message: `${show(value)} is not an integer` });
    else if (limits.min !== undefined && n < limits.min) ctx.addIssue({ code: "custom", message: `${show(value)} must be at least ${limits.min}${unit}` });
    else if (limits.max !== undefined && n > limits.max) ctx.addIssue({ code: "custom", message: `${show(value)} must be at most ${limits.max}${unit}` });
  });
  const range = limits.min !== undefined && limits.max !== undefined ? ` ${limits.min}–${limits.max}` : limits.min !== undefined ? ` ≥ ${limits.min}` : limits.max !== undefined ? ` ≤ ${limits.max}` : "";
  return documented(schema, `integer${range}${limits.unit ? ` (${limits.unit})` : ""}`, description);
}

/** The integer a parameter value stands for, or undefined when it is not one. */
export function asInteger(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  return typeof value === "string" && /^-?\d{1,15}$/.test(value) ? Number(value) : undefined;
}

export function flag(description: string) {
  const schema = z.union([z.boolean(), z.enum(["true", "false"])], {
    error: (issue) => missingOr(issue.input, "true or false", `${show(issue.input)} is not a flag: write true or false (the driver reads only the exact strings "true" and "false")`),
  });
  return documented(schema, "boolean", description);
}

/** True when a flag parameter is set to true (either spelling). */
export const isOn = (value: unknown) => value === true || value === "true";

/** One of fixed strings, compared as the driver compares them (case-sensitive unless the driver lowercases). */
export function choice<const Values extends readonly [string, ...string[]]>(values: Values, description: string) {
  const schema = z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.enum(values));
  return documented(schema, values.map((v) => `\`${v}\``).join(", "), description);
}

/** Octal permission bits (`"0777"`); a YAML number such as 777 is read by the driver as octal too. */
export function octal(description: string) {
  const schema = z.union([z.number(), z.string()], { error: (issue) => missingOr(issue.input, "octal permission bits such as \"0777\"", `expected octal permission bits such as "0777", got ${show(issue.input)}`) }).superRefine((value, ctx) => {
    if (!/^0?[0-7]{1,4}$/.test(String(value))) ctx.addIssue({ code: "custom", message: `${show(value)} is not octal permission bits such as "0777"` });
  });
  return documented(schema, "octal string", description);
}

/** The secrets the CSI sidecars hand a driver's RPCs, named in the StorageClass (external-provisioner's reserved keys). */
export type SecretUse = "provisioner" | "controller-publish" | "node-stage" | "node-publish" | "controller-expand" | "node-expand" | "snapshotter";

export const secretNameKey = (use: SecretUse) => `csi.storage.k8s.io/${use}-secret-name`;
export const secretNamespaceKey = (use: SecretUse) => `csi.storage.k8s.io/${use}-secret-namespace`;

/**
 * The name and namespace keys of each secret the driver reads. Only references: the secret's content (a
 * password, a key) is never a parameter, and the strict schemas refuse any key not listed.
 * Ref: external-provisioner v6.3.0 pkg/controller/controller.go (names may use ${pvc.name}, ${pvc.namespace}, ${pv.name}).
 */
export function secretReferences(uses: readonly SecretUse[], what: string): z.ZodRawShape {
  const shape: Record<string, z.ZodType> = {};
  for (const use of uses) {
    shape[secretNameKey(use)] = text(`Name of the Secret with ${what}, for the ${use} calls.`).optional();
    shape[secretNamespaceKey(use)] = text(`Namespace of that Secret.`).optional();
  }
  return shape;
}

/** external-provisioner refuses a secret with only one of its name and namespace; `required` ones must be set. */
export function checkSecretReferences(values: Readonly<Record<string, unknown>>, ctx: z.RefinementCtx, uses: readonly SecretUse[], required: readonly SecretUse[] = []): void {
  for (const use of uses) {
    const name = values[secretNameKey(use)];
    const namespace = values[secretNamespaceKey(use)];
    if (name === undefined && namespace === undefined) {
      if (required.includes(use)) ctx.addIssue({ code: "custom", path: [secretNameKey(use)], message: `required: the driver reads its ${use} credentials from this Secret (set ${secretNameKey(use)} and ${secretNamespaceKey(use)})` });
    } else if (name === undefined || namespace === undefined) {
      const missing = name === undefined ? secretNameKey(use) : secretNamespaceKey(use);
      ctx.addIssue({ code: "custom", path: [missing], message: `required with ${name === undefined ? secretNamespaceKey(use) : secretNameKey(use)}: external-provisioner takes a secret's name and namespace together` });
    }
  }
}

/** `csi.storage.k8s.io/fstype`, read by external-provisioner and handed to the driver as the volume's filesystem. */
export function fsType<const Values extends readonly [string, ...string[]]>(values: Values, defaultType: string) {
  return choice(values, `Filesystem the volume is formatted with; default ${defaultType}.`).optional();
}
export const FSTYPE = "csi.storage.k8s.io/fstype";
