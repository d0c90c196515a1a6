import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import { SSH_DEFAULTS } from "../../config/cluster";

/**
 * How to reach one host over SSH. Programs that import kubeplug build it themselves; the host and
 * key may be Outputs of resources in the same program (a VM's address, a generated key).
 */
export interface NodeConnection {
  /** Address or DNS name of the host; may be an Output (a VM's address from the same program). */
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
  /**
   * Pinned host key (`ssh-ed25519 AAAA...`, a host's /etc/ssh/ssh_host_ed25519_key.pub without the
   * comment); may be an Output (a VM's key from the program that creates it). Required unless
   * insecureSkipHostKeyCheck is true: without it @pulumi/command would not check the host at all.
   */
  readonly hostKey?: pulumi.Input<string>;
  /**
   * Throwaway labs only: connect without checking the host key (this host's, and the bastion's
   * unless the bastion pins one). The component warns for every such node.
   */
  readonly insecureSkipHostKeyCheck?: boolean;
  /** Jump host; its own hostKey is required too (or insecureSkipHostKeyCheck, here or on the node). */
  readonly bastion?: Omit<NodeConnection, "bastion">;
}

/**
 * Dial settings: @pulumi/command retries without back-off, so a dead node would otherwise hold an
 * apply for 10 × 15 s. Three tries of 10 s still ride out an sshd restart.
 */
const DIAL = { dialErrorLimit: 3, perDialTimeout: 10 } as const;

/** A host key @pulumi/command pins, for the node and for the proxy (bastion) alike. */
export function commandConnection(connection: NodeConnection): command.types.input.remote.ConnectionArgs {
  const { bastion, ...target } = connection;
  return {
    ...sshFields(target),
    ...DIAL,
    ...(bastion ? { proxy: { ...sshFields(bastion), ...DIAL } } : {}),
  };
}

function sshFields(c: Omit<NodeConnection, "bastion">) {
  return {
    host: c.host,
    port: c.port ?? SSH_DEFAULTS.port,
    user: c.user ?? SSH_DEFAULTS.user,
    ...(c.privateKey !== undefined ? { privateKey: c.privateKey } : {}),
    ...(c.agentSocketPath !== undefined ? { agentSocketPath: c.agentSocketPath } : {}),
    ...(c.hostKey !== undefined ? { hostKey: c.hostKey } : {}),
  };
}

export function becomeFor(connection: NodeConnection): "root" | "sudo" {
  return (connection.user ?? SSH_DEFAULTS.user) === "root" ? "root" : "sudo";
}
