import * as pulumi from "@pulumi/pulumi";
import { SecretRef, secretRefId } from "../../config/secrets";
import { KubeplugConfigError } from "../../errors";

/** Secret values by reference id (`config:<key>`, `env:<NAME>`), as the program resolves them. */
export type SecretValues = Readonly<Record<string, pulumi.Input<string>>>;

/**
 * Resolves the secrets a step needs and renders its stdin payload from them, as one Pulumi secret:
 * the values never reach a script, a plan or a plain output.
 */
export function secretPayload(refs: readonly SecretRef[], secrets: SecretValues, render: (values: string[]) => string): pulumi.Output<string> {
  const ids = refs.map(secretRefId);
  const missing = [...new Set(ids.filter((id) => !(id in secrets)))];
  if (missing.length > 0) {
    throw new KubeplugConfigError(missing.map((id) => ({ path: "secrets", message: `no value for "${id}", which a registry credential refers to` })));
  }
  return pulumi.secret(pulumi.all(ids.map((id) => pulumi.output(secrets[id]!))).apply(render));
}
