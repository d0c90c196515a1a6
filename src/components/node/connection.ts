import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import { SSH_DEFAULTS } from "../../config/cluster";

/**
 * How to reach one host over SSH. Programs that import kubeplug build it themselves; the host and
 * key may be Outputs of resources in the same program (a VM's address, a generated key).
 */
export interface NodeConnection {
  readonly host: pulumi.Input<string>;
  /** Default 22 (SSH_DEFAULTS). */
  readonly port?: number;
  /** Default root (SSH_DEFAULTS). Any other user runs steps through `sudo -n`, so it needs password-less sudo. */
  readonly user?: string;
  /** The private key itself (not a path); pass a Pulumi secret. */
  readonly privateKey?: pulumi.Input<string>;
  /**
   * Use the SSH agent at this socket instead of a key. Leave it out to use $SSH_AUTH_SOCK, which
   * @pulumi/command reads when it connects: a path given here is a resource input, so a path that
   * changes with each login session replaces (and re-runs) every step.
   */
  readonly agentSocketPath?: string;
  /** Pinned host key (`ssh-ed25519 AAAA...`); without it @pulumi/command does not check the host. */
  readonly hostKey?: string;
  readonly bastion?: Omit<NodeConnection, "bastion" | "hostKey">;
}

/**
 * Dial settings: @pulumi/command retries without back-off, so a dead node would otherwise hold an
 * apply for 10 × 15 s. Three tries of 10 s still ride out an sshd restart.
 */
const DIAL = { dialErrorLimit: 3, perDialTimeout: 10 } as const;

export function commandConnection(connection: NodeConnection): command.types.input.remote.ConnectionArgs {
  const { bastion, ...target } = connection;
  return {
    ...sshFields(target),
    ...(target.hostKey ? { hostKey: target.hostKey } : {}),
    ...DIAL,
    ...(bastion ? { proxy: { ...sshFields(bastion), ...DIAL } } : {}),
  };
}

function sshFields(c: Omit<NodeConnection, "bastion" | "hostKey">) {
  return {
    host: c.host,
    port: c.port ?? SSH_DEFAULTS.port,
    user: c.user ?? SSH_DEFAULTS.user,
    ...(c.privateKey !== undefined ? { privateKey: c.privateKey } : {}),
    ...(c.agentSocketPath !== undefined ? { agentSocketPath: c.agentSocketPath } : {}),
  };
}

export function becomeFor(connection: NodeConnection): "root" | "sudo" {
  return (connection.user ?? SSH_DEFAULTS.user) === "root" ? "root" : "sudo";
}
