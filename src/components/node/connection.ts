import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";

/** How to reach one host over SSH. Plain data, so programs that import kubeplug can build it themselves. */
export interface NodeConnection {
  readonly host: string;
  /** Default 22. */
  readonly port?: number;
  /** Default root. Any other user runs steps through `sudo -n`, so it needs password-less sudo. */
  readonly user?: string;
  /** The private key itself (not a path); pass a Pulumi secret. */
  readonly privateKey?: pulumi.Input<string>;
  /** Use the SSH agent at this socket instead of a key. */
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
    port: c.port ?? 22,
    user: c.user ?? "root",
    ...(c.privateKey !== undefined ? { privateKey: c.privateKey } : {}),
    ...(c.agentSocketPath !== undefined ? { agentSocketPath: c.agentSocketPath } : {}),
  };
}

export function becomeFor(connection: NodeConnection): "root" | "sudo" {
  return (connection.user ?? "root") === "root" ? "root" : "sudo";
}
