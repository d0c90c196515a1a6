import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { commandTexts, TYPES } from "../resources";

/**
 * TLS verification switched off, as kubeplug renders it into the files a step installs:
 * containerd's hosts.toml (`skip_verify = true`) and CRI-O's registries.conf (`insecure = true`).
 */
const TLS_OFF = /^\s*(skip_verify|insecure)\s*=\s*true\s*$/m;
/** The registry a hosts.toml or registries.conf entry is for, when the script names its file (certs.d/<host>/hosts.toml). */
const HOSTS_TOML = /certs\.d\/([^/\s'"]+)\/hosts\.toml/g;

/** kubeplug:cluster.lab, as the Cluster component above a resource carries it; a resource outside a Cluster is not in a lab. */
export function inLab(resource: PolicyResource): boolean {
  for (let r: PolicyResource | undefined = resource; r; r = r.parent) {
    if (r.type === TYPES.cluster) return r.props.lab === true;
  }
  return false;
}

export const registryTlsVerified: StackValidationPolicy = {
  name: "kubeplug-registry-tls-verified",
  description: "No registry host or mirror skips TLS verification (skipVerify) outside a stack marked as a lab (kubeplug:cluster.lab: true).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const resource of args.resources) {
      if (resource.type !== TYPES.command || inLab(resource)) continue;
      for (const { field, text } of commandTexts(resource.props)) {
        const line = TLS_OFF.exec(text);
        if (!line) continue;
        const hosts = [...new Set([...text.matchAll(HOSTS_TOML)].map((m) => m[1]!))];
        reportViolation(
          `${resource.name}: ${field} turns TLS verification off (${line[0].trim()})${hosts.length > 0 ? ` for registry hosts among ${hosts.join(", ")}` : ""}; only a stack with kubeplug:cluster.lab: true may set skipVerify`,
          resource.urn,
        );
      }
    }
  },
};
