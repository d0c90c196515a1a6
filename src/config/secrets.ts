import { z } from "zod";
import { describeValue } from "./path";
import { strictObject, tagged } from "./zod";

/**
 * Where a secret value comes from. Stack files hold references, never values: a Pulumi secret
 * config key of this project (`pulumi config set --secret kubeplug:<name>`) or an environment variable.
 */
export const secretRef = tagged("from", [
  strictObject({
    from: z.literal("config").describe("config: a secret key of this stack (`pulumi config set --secret kubeplug:<key>`); env: an environment variable of the program."),
    key: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, {
      error: (issue) => `${describeValue(issue.input)} is not a config key name such as ghcrPassword`,
    }).describe("Key under the kubeplug: namespace, set with `pulumi config set --secret`."),
  }),
  strictObject({
    from: z.literal("env").describe("config: a secret key of this stack (`pulumi config set --secret kubeplug:<key>`); env: an environment variable of the program."),
    name: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, {
      error: (issue) => `${describeValue(issue.input)} is not an environment variable name such as GHCR_TOKEN`,
    }).describe("Environment variable that holds the value when the program runs."),
  }),
], "expected a secret reference such as { from: config, key: mirrorPassword }; secret values never go in a stack file (the value is not shown here)");
export type SecretRef = z.infer<typeof secretRef>;

/** The canonical name a component uses to look a secret up in its `secrets` argument. */
export function secretRefId(ref: SecretRef): string {
  return ref.from === "config" ? `config:${ref.key}` : `env:${ref.name}`;
}

export const basicAuth = strictObject({
  username: z.string().min(1).describe("User name."),
  password: secretRef.describe("Where the password comes from; never the password itself."),
});
export type BasicAuth = z.infer<typeof basicAuth>;
