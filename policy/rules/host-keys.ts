import { ResourceValidationPolicy } from "@pulumi/policy";
import { isObject, isRemoteCommand } from "../resources";

/**
 * @pulumi/command checks no host key unless the connection pins one, so every Command and
 * CopyToRemote (a node's steps, and its node-library and node-library-upload) must, and so must the
 * bastion (`proxy`) it goes through.
 */
export const hostKeysPinned: ResourceValidationPolicy = {
  name: "kubeplug-host-keys-pinned",
  description: "Every SSH connection (node steps, each node's library upload and install, and their bastions) pins the host's key: without one, whoever answers at the address gets root commands and credentials.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isRemoteCommand(args.type)) return;
    const connection = args.props.connection;
    if (!isObject(connection)) {
      reportViolation(`${args.name}: no connection to check`);
      return;
    }
    const hops: [string, Record<string, unknown>][] = [["host", connection]];
    if (isObject(connection.proxy)) hops.push(["bastion", connection.proxy]);
    for (const [role, hop] of hops) {
      if (typeof hop.hostKey !== "string" || hop.hostKey.trim() === "") {
        reportViolation(`${args.name}: the connection to the ${role} ${String(hop.host ?? "(no address)")} pins no hostKey; set ssh.hostKey or ssh.knownHostsFile for it`);
      }
    }
  },
};
