/**
 * What the Pulumi program does, as a function tests can run under mocks: the stack's `kubeplug:*`
 * config, checked by the same validator as `npm run render`, becomes one Cluster.
 */
import * as pulumi from "@pulumi/pulumi";
import { forEachSecretRef } from "./config/cluster-checks";
import { NAMESPACE, validateStackConfig } from "./config/stack";
import { secretRefId } from "./config/secrets";
import { Cluster } from "./components/cluster";
import { planCluster } from "./plan/cluster-plan";
import { localEnvironment, preflight, requirePreflight } from "./plan/preflight";

/** Pulumi decrypts secret config before the program runs; this tells which keys were secret. */
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean }).isConfigSecret;

/** The config map as a stack file holds it: objects parsed, secret values replaced by a marker. */
function stackValues(): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(`${NAMESPACE}:`)) continue;
    values[key] = isConfigSecret(key) ? { secure: "[secret]" } : parseConfigValue(raw);
  }
  return values;
}

function parseConfigValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The one path: validate the stack, plan the cluster, map the plan onto resources. */
export function stackProgram() {
  const { config, warnings } = validateStackConfig(pulumi.getStack(), stackValues());
  for (const w of warnings) pulumi.log.warn(`${w.path}: ${w.message}`);
  // Key files, the agent, environment secrets and known_hosts files, checked as `npm run render` checks them
  // (the program runs in the project directory); the host keys of known_hosts files go into the plan.
  const local = requirePreflight(preflight(config, localEnvironment()));
  const plan = planCluster(config, local);

  const kubeplug = new pulumi.Config(NAMESPACE);
  const secrets: Record<string, pulumi.Input<string>> = {};
  forEachSecretRef(config.cluster, (ref) => {
    const id = secretRefId(ref);
    if (id in secrets) return;
    if (ref.from === "config") {
      secrets[id] = kubeplug.requireSecret(ref.key);
    } else {
      // preflight has checked that it is set.
      secrets[id] = pulumi.secret(process.env[ref.name]!);
    }
  });

  const cluster = new Cluster(config.cluster.name, { plan, secrets });
  return { runtimeEndpoints: cluster.runtimeEndpoints };
}


