/**
 * One session per node with the system `ssh`: the stack's own connection facts (user, port, key or
 * agent, pinned host keys, bastion) as -o options, the probe on stdin of `bash -s`.
 */
import { spawn } from "node:child_process";
import { becomeFor } from "../components/node/connection";
import { shellQuote } from "../components/node/shell";
import { ConnectionFacts } from "../plan/cluster-plan";
import { LocalEnvironment, resolveLocalPath } from "../plan/preflight";
import { knownHostsName } from "../util/known-hosts";
import { ProbeOutcome } from "./compare";
import { parseProbe } from "./probe";

type Hop = Omit<ConnectionFacts, "bastion">;

/** The known_hosts lines that pin every host key a connection checks (the node's and its bastion's). */
export function knownHostsLines(connection: ConnectionFacts): string[] {
  return [connection, ...(connection.bastion ? [connection.bastion] : [])].flatMap((hop) => (hop.hostKey && hop.hostKeyCheck !== "unchecked" ? [`${knownHostsName(hop.host, hop.port)} ${hop.hostKey}`] : []));
}

/**
 * `ssh` options for one hop. Host keys are checked against `knownHosts` only (the keys the stack pins
 * or preflight read from its knownHostsFile), never the user's own files, as @pulumi/command does.
 * A known-hosts check whose key preflight could not find fails the connection: nothing is accepted blindly.
 */
function hopOptions(hop: Hop, knownHosts: string, local: Pick<LocalEnvironment, "projectDir" | "homeDir">): string[] {
  const checked = hop.hostKeyCheck === "unchecked" ? ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"] : ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`];
  const key = hop.privateKeyPath ? ["-i", resolveLocalPath(hop.privateKeyPath, local), "-o", "IdentitiesOnly=yes"] : [];
  return [
    "-o", "BatchMode=yes",
    // A dead node must not hold the check: one dial of 10 s, then it is reported unreachable.
    "-o", "ConnectTimeout=10",
    "-o", "ServerAliveInterval=5",
    "-o", "ServerAliveCountMax=3",
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    ...checked,
    ...key,
    "-p", String(hop.port),
    "-l", hop.user,
  ]; // prettier-ignore
}

/** The whole `ssh` command line for one node; a bastion is reached with a ProxyCommand of its own options. */
export function sshArgs(connection: ConnectionFacts, knownHosts: string, local: Pick<LocalEnvironment, "projectDir" | "homeDir">, remote: readonly string[]): string[] {
  const proxy = connection.bastion ? ["-o", `ProxyCommand=${["ssh", ...hopOptions(connection.bastion, knownHosts, local), "-W", "%h:%p", connection.bastion.host].map(proxyQuote).join(" ")}`] : [];
  return [...hopOptions(connection, knownHosts, local), ...proxy, "-T", connection.host, "--", ...remote];
}

/** ssh expands %h and %p inside ProxyCommand itself, so those stay outside the shell quotes. */
const proxyQuote = (word: string) => (/^[\w@%:./=-]+$/.test(word) ? word : shellQuote(word));

/** The login shell runs the probe as root: directly for root, through `sudo -n` for anyone else. */
export function probeCommand(connection: ConnectionFacts): string[] {
  return becomeFor(connection) === "root" ? ["bash", "-s"] : ["sudo", "-n", "bash", "-s"];
}

/** The whole session must end within this; a hung node is reported as failed rather than waited for. */
const SESSION_TIMEOUT_MS = 60_000;

export interface SessionResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `ssh ARGS` with `input` on its stdin. */
export function runSsh(args: readonly string[], input: string, timeoutMs = SESSION_TIMEOUT_MS): Promise<SessionResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdin.on("error", () => undefined); // the session may end before it has read the script
    child.on("error", (error) => err.push(Buffer.from(error.message)));
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), ms: Number(process.hrtime.bigint() - started) / 1e6 });
    });
    child.stdin.end(input);
  });
}

/** ssh exits 255 for its own errors (no route, refused, host key, authentication); anything else came from the node. */
export function outcomeOf(result: SessionResult): ProbeOutcome {
  const lastLine = result.stderr.trim().split("\n").at(-1) ?? "";
  if (result.code === 255) return { kind: "unreachable", reason: lastLine || "ssh failed" };
  if (result.code === null) return { kind: "failed", reason: `no answer within ${SESSION_TIMEOUT_MS / 1000} s` };
  if (result.code !== 0) return { kind: "failed", reason: `the probe exited ${result.code}: ${lastLine}` };
  const report = parseProbe(result.stdout);
  return "invalid" in report ? { kind: "failed", reason: report.invalid } : { kind: "report", report };
}

/** Runs `task` over `items`, at most `limit` at a time, results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
