import { ResourceValidationPolicy } from "@pulumi/policy";
import { commandTexts, isObject, kubernetesObjects, TYPES, walk } from "../resources";

/**
 * Credential material in text: containerd's auth tables (`password = "..."`), auth.json entries
 * (`"auth": "..."`), Authorization headers (hosts.toml `header`), private keys. kubeplug sends each
 * of these only on a step's stdin, which it marks secret.
 */
const CREDENTIALS: readonly [RegExp, string][] = [
  [/^\s*(password|auth|identitytoken|registrytoken)\s*=\s*"[^"]+"/m, "a registry credential (TOML auth table)"],
  [/"(password|auth|identitytoken|registrytoken)"\s*:\s*"[^"]+"/, "a registry credential (auth.json)"],
  [/Authorization\s*=\s*\[?\s*"(Basic|Bearer) /, "an Authorization header"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
];
/** Chart values and StorageClass parameters whose name says they hold a credential (a Secret's name or namespace does not). */
const CREDENTIAL_KEY = /^(password|token|apiKey|accessKey|secretKey|secretAccessKey|[A-Za-z]*(Password|Token|AccessKey|SecretKey))$/;

export function credentialIn(text: string): string | undefined {
  return CREDENTIALS.find(([pattern]) => pattern.test(text))?.[1];
}

export const secretsOnlyInSecrets: ResourceValidationPolicy = {
  name: "kubeplug-secrets-from-pulumi-secrets",
  description: "Registry passwords, tokens and keys come from Pulumi secrets: never in a Command's script, environment or triggers (plain state), only on a stdin marked secret; never inlined in chart values or StorageClass parameters.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const report = (problem: string) => reportViolation(`${args.name}: ${problem}`);
    if (args.type === TYPES.command) {
      for (const { field, text } of commandTexts(args.props)) {
        const found = credentialIn(text);
        if (found) report(`${field} holds ${found}, which Pulumi keeps in plain state and shows in diffs; pass it on stdin from a Pulumi secret`);
      }
      const stdin = args.props.stdin;
      const found = typeof stdin === "string" ? credentialIn(stdin) : undefined;
      if (found && !args.opts.additionalSecretOutputs.includes("stdin")) report(`stdin holds ${found} but is not marked secret (additionalSecretOutputs: ["stdin"]); take it from a Pulumi secret`);
    }
    const maps: [string, unknown][] = [];
    if (args.type === TYPES.chartV4 || args.type === TYPES.releaseV3) maps.push(["values.", args.props.values]);
    for (const object of kubernetesObjects(args.type, args.props)) {
      if (object.kind === "StorageClass") maps.push(["parameters.", object.parameters]);
    }
    for (const [where, map] of maps) {
      if (!isObject(map)) continue;
      walk(map, (key, value, path) => {
        if (CREDENTIAL_KEY.test(key) && typeof value === "string" && value !== "") report(`${where}${path} is a credential written inline; reference a Kubernetes Secret filled from a Pulumi secret instead`);
      });
    }
  },
};
