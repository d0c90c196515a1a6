/**
 * Preflight: what a stack needs from the machine that runs `pulumi up` (key files, the SSH agent,
 * environment secrets, known_hosts files), checked before anything is planned, by the render CLI and
 * by the program alike, so a stack that `npm run render` accepts does not fail later with a raw
 * ENOENT. It also reads each known_hosts file a stack names and gives the plan the host key it lists
 * for every node and bastion. Besides reading the stack file (stack-files.ts) and writing the
 * render (output-dir.ts), it is the only module below the components that looks at the machine;
 * src/config and the rest of the plan stay pure.
 */
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { effectiveSsh, forEachSecretRef, sshOrigin } from "../config/cluster-checks";
import { Findings, Locator } from "../config/findings";
import { HostKeyCheck, nodeHostKeyChecks } from "../config/host-keys";
import { StackConfig } from "../config/stack";
import { ConfigProblem, KubeplugConfigError } from "../errors";
import { KnownHostsEntry, knownHostsName, lookupHostKey, parseKnownHosts } from "../util/known-hosts";

/** The machine as preflight sees it. */
export interface LocalEnvironment {
  /** Relative paths in a stack are relative to it: the project directory, where Pulumi runs the program. */
  readonly projectDir: string;
  /** What `~/` means in a path. */
  readonly homeDir: string;
  /** Environment variables: `{ from: env }` secrets and SSH_AUTH_SOCK. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** This process's machine: the working directory (Pulumi runs the program in the project directory), home and environment. */
export function localEnvironment(projectDir: string = process.cwd()): LocalEnvironment {
  return { projectDir, homeDir: homedir(), env: process.env };
}

/** `~/` is the home directory, as in ssh; other relative paths are relative to the project directory. */
export function resolveLocalPath(path: string, local: Pick<LocalEnvironment, "projectDir" | "homeDir">): string {
  if (path.startsWith("~/")) return join(local.homeDir, path.slice(2));
  return isAbsolute(path) ? path : join(local.projectDir, path);
}

const ROOT = "kubeplug:cluster";

/** What preflight learnt from this machine that the plan needs. */
export interface LocalFacts {
  /** Per node name, the host keys its known_hosts file gives (for the node, its bastion, or both). */
  readonly knownHostKeys: ReadonlyMap<string, { readonly node?: string; readonly bastion?: string }>;
}

/** Preflight's answer: the facts, and what would stop `pulumi up` on this machine. */
export interface PreflightResult extends LocalFacts {
  readonly problems: readonly ConfigProblem[];
}

/**
 * Checks every file, agent and environment variable the stack's nodes and secrets use, reporting
 * each at the field that names it (once, where it is written, however many nodes inherit it), and
 * looks every node and bastion that relies on a known_hosts file up in it. Returns every problem at
 * once: the program stops on them (requirePreflight), the render CLI lists them after the plan.
 */
export function preflight(config: StackConfig, local: LocalEnvironment): PreflightResult {
  const findings = new Findings();
  const at = findings.at(ROOT);
  const seen = new Set<string>();
  /** Runs `check` once per place a setting is written. */
  const once = (here: Locator, check: (here: Locator) => void) => {
    if (seen.has(here.path)) return;
    seen.add(here.path);
    check(here);
  };
  const { cluster } = config;
  cluster.nodes.forEach((node, i) => {
    const keyAt = sshOrigin(cluster, i, "privateKeyPath");
    const agentAt = sshOrigin(cluster, i, "agent");
    const ssh = effectiveSsh(cluster, node);
    if (ssh.privateKeyPath && keyAt) once(at.child(...keyAt), (here) => checkKeyFile(ssh.privateKeyPath!, here, local));
    else if (ssh.agent && agentAt) once(at.child(...agentAt), (here) => checkAgent(here, local));
    const bastionAt = sshOrigin(cluster, i, "bastion");
    const bastion = ssh.bastion;
    if (bastion && bastionAt) {
      if (bastion.privateKeyPath) once(at.child(...bastionAt, "privateKeyPath"), (here) => checkKeyFile(bastion.privateKeyPath!, here, local));
      else if (bastion.agent) once(at.child(...bastionAt, "agent"), (here) => checkAgent(here, local));
    }
  });
  const knownHostKeys = new Map<string, { node?: string; bastion?: string }>();
  const files = new Map<string, KnownHostsEntry[] | undefined>();
  /** The entries of the file a check names, read once; a file that cannot be read is a problem at its field. */
  const entriesOf = (check: Extract<HostKeyCheck, { kind: "known-hosts" }>): KnownHostsEntry[] | undefined => {
    const here = at.child(...check.at);
    if (!files.has(here.path)) files.set(here.path, readKnownHosts(check.file, here, local));
    return files.get(here.path);
  };
  cluster.nodes.forEach((node, i) => {
    const checks = nodeHostKeyChecks(cluster, i);
    const port = effectiveSsh(cluster, node).port;
    const keys: { node?: string; bastion?: string } = {};
    if (checks.node.kind === "known-hosts") {
      const entries = entriesOf(checks.node);
      if (entries) keys.node = lookup(entries, node.address, port, checks.node, at.child("nodes", i, "address"), at, once);
    }
    const bastion = checks.bastion;
    if (bastion?.check.kind === "known-hosts") {
      const entries = entriesOf(bastion.check);
      const { port: bastionPort } = (node.ssh?.bastion ?? cluster.ssh.bastion)!;
      if (entries) keys.bastion = lookup(entries, bastion.host, bastionPort, bastion.check, at.child(...bastion.at, "address"), at, once);
    }
    if (keys.node || keys.bastion) knownHostKeys.set(node.name, keys);
  });
  forEachSecretRef(cluster, (ref, path) => {
    if (ref.from !== "env") return;
    once(at.child(...path, "name"), (here) => {
      if (local.env[ref.name] === undefined) here.problem(`environment variable ${ref.name} is not set; pulumi up reads this secret from it`);
    });
  });
  return { knownHostKeys, problems: findings.problems };
}

/** For the program: what would stop `pulumi up` stops it here, before anything registers. */
export function requirePreflight(result: PreflightResult): LocalFacts {
  if (result.problems.length > 0) throw new KubeplugConfigError(result.problems);
  return result;
}

function readKnownHosts(path: string, here: Locator, local: LocalEnvironment): KnownHostsEntry[] | undefined {
  try {
    return parseKnownHosts(readFileSync(resolveLocalPath(path, local), "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    here.problem(
      code === "ENOENT" || code === "ENOTDIR"
        ? `no file "${path}"${whereLooked(path)}; kubeplug pins each host to the key this known_hosts file lists`
        : `known_hosts file "${path}" cannot be read: ${(error as Error).message}`,
    );
    return undefined;
  }
}

/** The key for `host:port`, or a problem at the host's address (once per address field). */
function lookup(
  entries: readonly KnownHostsEntry[],
  host: string,
  port: number,
  check: Extract<HostKeyCheck, { kind: "known-hosts" }>,
  here: Locator,
  root: Locator,
  once: (here: Locator, check: (here: Locator) => void) => void,
): string | undefined {
  const name = knownHostsName(host, port);
  const found = lookupHostKey(entries, name);
  if (found.found) return found.hostKey;
  const field = root.child(...check.at).path;
  const scan = port === 22 ? `ssh-keyscan ${host}` : `ssh-keyscan -p ${port} ${host}`;
  once(here, (at) =>
    at.problem(`known_hosts file "${check.file}" (${field}) ${found.reason} for ${name}; add the host's key (${scan}, then compare its fingerprint with the host's own) or pin ssh.hostKey`),
  );
  return undefined;
}

/** Where a relative path was looked for, in words a user can act on. */
function whereLooked(path: string): string {
  if (path.startsWith("~/")) return " (in the home directory)";
  return isAbsolute(path) ? "" : " (relative to the project directory)";
}

function checkKeyFile(path: string, here: Locator, local: LocalEnvironment): void {
  const file = resolveLocalPath(path, local);
  let stats;
  try {
    stats = statSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return here.problem(code === "ENOENT" || code === "ENOTDIR" ? `no file "${path}"${whereLooked(path)}; pulumi up reads the private key from it` : `"${path}" cannot be read: ${(error as Error).message}`);
  }
  if (!stats.isFile()) return here.problem(`"${path}" is not a file; it must be the private key itself`);
  try {
    accessSync(file, constants.R_OK);
  } catch {
    here.problem(`"${path}" is not readable by this user; pulumi up reads the private key from it`);
  }
}

function checkAgent(here: Locator, local: LocalEnvironment): void {
  const socket = local.env.SSH_AUTH_SOCK;
  if (!socket) return here.problem("agent: true needs an SSH agent, but SSH_AUTH_SOCK is not set; start one (eval \"$(ssh-agent)\" && ssh-add) or set privateKeyPath");
  let isSocket = false;
  try {
    isSocket = statSync(socket).isSocket();
  } catch {
    // reported below
  }
  if (!isSocket) here.problem(`agent: true, but SSH_AUTH_SOCK names ${JSON.stringify(socket)}, which is not a socket (a stale session?)`);
}
