/**
 * What the rules know of the resources kubeplug registers: their type tokens and where in their
 * inputs the things a rule judges live. Props reach a policy as plain JSON: the engine unwraps
 * secrets before a policy sees them, so no rule can ask whether a value was secret.
 */
import yaml from "js-yaml";

export const TYPES = {
  command: "command:remote:Command",
  copyToRemote: "command:remote:CopyToRemote",
  cluster: "kubeplug:index:Cluster",
  chartV4: "kubernetes:helm.sh/v4:Chart",
  releaseV3: "kubernetes:helm.sh/v3:Release",
  configGroup: "kubernetes:yaml/v2:ConfigGroup",
} as const;

/** kubeplug's own components (`kubeplug:index:Cluster`, `kubeplug:node:NodeStep`, ...). */
export const isKubeplugComponent = (type: string) => type.startsWith("kubeplug:");
/** The resources that reach a node over SSH, each with its own `connection`. */
export const isRemoteCommand = (type: string) => type === TYPES.command || type === TYPES.copyToRemote;

/** Every value below `value`, with the key it sits at and its path (`values.image.tag`). */
export function walk(value: unknown, visit: (key: string, value: unknown, path: string) => void, path = ""): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const at = `${path}[${i}]`;
      visit(String(i), item, at);
      walk(item, visit, at);
    });
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      visit(key, item, at);
      walk(item, visit, at);
    }
  }
}

/**
 * The Kubernetes objects a resource applies: a typed resource is one object; a yaml/v2 ConfigGroup
 * holds YAML text (`yaml`) or objects (`objs`). Charts are not here: their templates render in the
 * engine, so only a chart's version and values can be judged.
 */
export function kubernetesObjects(type: string, props: Record<string, unknown>): Record<string, unknown>[] {
  if (type === TYPES.configGroup) {
    const texts = ([] as unknown[]).concat(props.yaml ?? []).filter((t): t is string => typeof t === "string");
    const objects = ([] as unknown[]).concat(props.objs ?? []);
    return [...texts.flatMap((text) => yaml.loadAll(text)), ...objects].filter(isObject);
  }
  return type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh/") && !type.startsWith("kubernetes:yaml/") ? [props] : [];
}

/** The text a remote Command keeps in plain state: its scripts, environment and triggers (stdin is judged apart). */
export function commandTexts(props: Record<string, unknown>): { field: string; text: string }[] {
  const texts: { field: string; text: string }[] = [];
  for (const field of ["create", "update", "delete"]) {
    if (typeof props[field] === "string") texts.push({ field, text: props[field] as string });
  }
  for (const [name, value] of Object.entries(isObject(props.environment) ? props.environment : {})) {
    if (typeof value === "string") texts.push({ field: `environment.${name}`, text: value });
  }
  ([] as unknown[]).concat(props.triggers ?? []).forEach((value, i) => {
    if (typeof value === "string") texts.push({ field: `triggers[${i}]`, text: value });
  });
  return texts;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
