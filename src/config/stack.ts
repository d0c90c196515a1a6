import yaml from "js-yaml";
import { z } from "zod";
import { ConfigProblem, ConfigWarning, KubeplugConfigError } from "../errors";
import { ClusterConfig, clusterConfig } from "./cluster";
import { checkCluster } from "./cluster-checks";
import { inheritRegistries } from "./cluster-registries";
import { Findings } from "./findings";
import { checkNetwork } from "./network-checks";
import { NetworkConfig, networkConfig } from "./network";
import { StorageConfig, storageConfig } from "./storage";
import { checkStorage } from "./storage-checks";
import { STORAGE_DRIVERS } from "../catalog/storage";
import { closest, unknownNameMessage } from "./suggest";
import { zodProblems } from "./zod";

export const NAMESPACE = "kubeplug";

/** A validated stack: every default applied, every cross-field rule checked. */
export interface StackConfig {
  readonly stack: string;
  readonly cluster: ClusterConfig;
  readonly network: NetworkConfig;
  /** False when the stack has no `kubeplug:network`: kubeplug then leaves CNI on the nodes alone. */
  readonly networkManaged: boolean;
  readonly storage: StorageConfig;
  /** Secret config keys this stack holds (`kubeplug:<key>` with a `secure:` value); the values stay encrypted. */
  readonly secretKeys: readonly string[];
}

export interface LoadedStack {
  readonly config: StackConfig;
  readonly warnings: readonly ConfigWarning[];
}

export const SECTIONS = { cluster: clusterConfig, network: networkConfig, storage: storageConfig } as const;
type Section = keyof typeof SECTIONS;

/**
 * Validates the `config:` map of a stack (keys such as `kubeplug:cluster`), as js-yaml reads it from
 * the stack file or as the Pulumi program reads it through pulumi.Config. Throws KubeplugConfigError
 * with every problem at once.
 */
export function validateStackConfig(stack: string, values: Readonly<Record<string, unknown>>): LoadedStack {
  const problems: ConfigProblem[] = [];
  const parsed: Partial<Record<Section, unknown>> = {};
  const secretKeys: string[] = [];
  const prefix = `${NAMESPACE}:`;

  for (const [key, value] of Object.entries(values)) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (isSecureValue(value)) {
      secretKeys.push(name);
    } else if (!(name in SECTIONS)) {
      const sections = Object.keys(SECTIONS).map((s) => prefix + s);
      // Without a likely typo, the key is most often a secret written in plain text: say how to store it.
      const message = closest(key, sections)
        ? unknownNameMessage("config key", key, sections)
        : `unknown config key "${key}"; expected one of: ${sections.join(", ")}, or a secret set with: pulumi config set --secret ${key} <value>`;
      problems.push({ path: key, message });
    }
  }

  for (const section of Object.keys(SECTIONS) as Section[]) {
    const key = prefix + section;
    const value = values[key];
    if (value === undefined && section === "cluster") {
      problems.push({ path: key, message: "required: the stack must describe its node pools and nodes" });
      continue;
    }
    const result = (SECTIONS[section] as z.ZodType).safeParse(value ?? {}, { reportInput: true });
    if (result.success) parsed[section] = result.data;
    else problems.push(...zodProblems(key, result.error));
  }

  const findings = new Findings();
  if (problems.length === 0) {
    checkCluster(parsed.cluster as ClusterConfig, parsed.network as NetworkConfig, new Set(secretKeys), findings);
    if (values[`${prefix}network`] !== undefined) {
      checkNetwork(parsed.network as NetworkConfig, parsed.cluster as ClusterConfig, findings.at(`${prefix}network`), findings.at(`${prefix}cluster`));
    }
    checkStorage(parsed.storage as StorageConfig, (parsed.cluster as ClusterConfig).pools.map((p) => p.name), STORAGE_DRIVERS, findings.at(`${prefix}storage`));
    problems.push(...findings.problems);
  }
  if (problems.length > 0) throw new KubeplugConfigError(problems);
  return {
    config: {
      stack,
      cluster: inheritRegistries(parsed.cluster as ClusterConfig),
      network: parsed.network as NetworkConfig,
      networkManaged: values[`${prefix}network`] !== undefined,
      storage: parsed.storage as StorageConfig,
      secretKeys,
    },
    warnings: findings.warnings,
  };
}

function isSecureValue(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as { secure?: unknown }).secure === "string";
}

/** Parses the text of a `Pulumi.<stack>.yaml` file; `file` names it in errors. */
export function parseStackFile(stack: string, text: string, file: string): LoadedStack {
  let document: unknown;
  try {
    document = yaml.load(text, { filename: file });
  } catch (error) {
    const mark = (error as { mark?: { line: number; column: number } }).mark;
    const where = mark ? `${file}:${mark.line + 1}:${mark.column + 1}` : file;
    throw new KubeplugConfigError([{ path: where, message: `not valid YAML: ${(error as { reason?: string }).reason ?? String(error)}` }]);
  }
  if (document === null || document === undefined) document = {};
  if (typeof document !== "object" || Array.isArray(document)) {
    throw new KubeplugConfigError([{ path: file, message: "expected a map with a `config:` key" }]);
  }
  const config = (document as { config?: unknown }).config;
  if (config !== undefined && (typeof config !== "object" || config === null || Array.isArray(config))) {
    throw new KubeplugConfigError([{ path: `${file}: config`, message: "expected a map of config keys" }]);
  }
  return validateStackConfig(stack, (config ?? {}) as Record<string, unknown>);
}
