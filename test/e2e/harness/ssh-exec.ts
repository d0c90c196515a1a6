import { Client } from "ssh2";

/** The SSH settings a `command:remote:Command` carries in its `connection` input. */
export interface CommandConnection {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  /** Pinned host key (`ssh-ed25519 AAAA...`): the server must present exactly this key. */
  hostKey?: string;
  dialErrorLimit?: number;
  perDialTimeout?: number;
}

export interface ExecResult {
  readonly exitCode: number | null;
  readonly signal?: string;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the harness cut the connection on purpose (fault injection). */
  readonly dropped: boolean;
}

export interface ExecOptions {
  readonly stdin?: string;
  /** Fault injection: cut the TCP connection once stdout matches, as a dropped network would. */
  readonly dropWhenStdout?: RegExp;
}

function connectOnce(connection: CommandConnection): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once("ready", () => resolve(client));
    client.once("error", (error) => {
      client.end();
      reject(error);
    });
    client.connect({
      host: connection.host,
      port: connection.port ?? 22,
      username: connection.user ?? "root",
      privateKey: connection.privateKey,
      readyTimeout: (connection.perDialTimeout ?? 15) * 1000,
      ...hostKeyCheck(connection.hostKey),
    });
  });
}

/**
 * As @pulumi/command 1.2.1 checks a pinned key (connection.go, SSHConfig: ssh.FixedHostKey, and
 * HostKeyAlgorithms limited to the key's type); without one, any host key is accepted, as there.
 */
function hostKeyCheck(hostKey: string | undefined) {
  if (!hostKey) return {};
  const [type, data] = hostKey.split(" ");
  const pinned = Buffer.from(data!, "base64");
  return {
    algorithms: { serverHostKey: [type as "ssh-ed25519"] },
    hostVerifier: (key: Buffer) => key.equals(pinned),
  };
}

/** Dials like @pulumi/command: `dialErrorLimit` attempts of `perDialTimeout` seconds each. */
async function connect(connection: CommandConnection): Promise<Client> {
  const attempts = connection.dialErrorLimit ?? 10;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await connectOnce(connection);
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`could not dial ${connection.host}:${connection.port ?? 22} after ${attempts} attempt(s): ${(last as Error).message}`);
}

/** Runs one command string through the login user's shell, as a Command's `create` runs. */
export async function sshExec(connection: CommandConnection, command: string, options: ExecOptions = {}): Promise<ExecResult> {
  const client = await connect(connection);
  try {
    return await new Promise<ExecResult>((resolve, reject) => {
      client.exec(command, (error, stream) => {
        if (error) return reject(error);
        let stdout = "";
        let stderr = "";
        let dropped = false;
        stream.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          if (options.dropWhenStdout && !dropped && options.dropWhenStdout.test(stdout)) {
            dropped = true;
            // Destroying the socket sends no channel close or signal: the remote side sees a dead peer.
            (client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
            resolve({ exitCode: null, stdout, stderr, dropped });
          }
        });
        stream.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        stream.on("close", (code: number | null, signal?: string) => resolve({ exitCode: code, ...(signal ? { signal } : {}), stdout, stderr, dropped }));
        stream.end(options.stdin ?? "");
      });
    });
  } finally {
    client.end();
  }
}
