/**
 * OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): which host key a file gives
 * for a host and port. Pure: the caller reads the file.
 */
import { createHmac } from "node:crypto";
import { HOST_KEY_TYPES, HostKeyType, hostKeyDataProblem, isHostKeyType } from "./ssh-keys";

export interface KnownHostsEntry {
  /** Line number, from 1. */
  readonly line: number;
  readonly marker?: "@revoked" | "@cert-authority";
  /** Comma-separated patterns (`*`, `?`, `!negation`, `[host]:port`) or one hashed name (`|1|salt|hash`). */
  readonly hosts: string;
  readonly type: string;
  readonly data: string;
}

/** The entries of a file; blank lines, comments and lines that are not entries are skipped, as ssh skips them. */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === "" || fields[0]!.startsWith("#")) return;
    const marker = fields[0] === "@revoked" || fields[0] === "@cert-authority" ? (fields.shift() as KnownHostsEntry["marker"]) : undefined;
    const [hosts, type, data] = fields;
    if (!hosts || !type || !data) return;
    entries.push({ line: i + 1, ...(marker ? { marker } : {}), hosts, type, data });
  });
  return entries;
}

/** The name ssh looks a host up by: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

function globMatches(name: string, pattern: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${regex}$`, "i").test(name);
}

/** Whether an entry's host field names `name`: a hashed name, or a positive pattern and no negated one. */
export function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith("|1|")) {
    const [, , salt, hash] = hosts.split("|");
    if (!salt || !hash) return false;
    return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
  }
  let matched = false;
  for (const pattern of hosts.split(",")) {
    if (pattern.startsWith("!")) {
      if (globMatches(name, pattern.slice(1))) return false;
    } else if (globMatches(name, pattern)) {
      matched = true;
    }
  }
  return matched;
}

export type HostKeyLookup =
  | { readonly found: true; readonly hostKey: string; readonly line: number }
  | { readonly found: false; readonly reason: string };

/**
 * The key a file gives for `name`: of the entries that match and are not revoked, the one of the
 * most preferred type (ssh-ed25519 first; @pulumi/command pins exactly one). Certificate
 * authorities are not host keys and @pulumi/command cannot check a certificate, so they are not used.
 */
export function lookupHostKey(entries: readonly KnownHostsEntry[], name: string): HostKeyLookup {
  const matching = entries.filter((e) => hostsMatch(e.hosts, name));
  const revoked = new Set(matching.filter((e) => e.marker === "@revoked").map((e) => `${e.type} ${e.data}`));
  const usable = matching
    .filter((e) => !e.marker && isHostKeyType(e.type) && !revoked.has(`${e.type} ${e.data}`) && !hostKeyDataProblem(e.type as HostKeyType, e.data))
    .sort((a, b) => HOST_KEY_TYPES.indexOf(a.type as HostKeyType) - HOST_KEY_TYPES.indexOf(b.type as HostKeyType));
  const best = usable[0];
  if (best) return { found: true, hostKey: `${best.type} ${best.data}`, line: best.line };
  if (matching.length === 0) return { found: false, reason: "has no entry" };
  const lines = matching.map((e) => e.line).join(", ");
  if (matching.every((e) => e.marker === "@cert-authority")) return { found: false, reason: `has only a @cert-authority entry (line ${lines}), and a pinned host key cannot be a certificate authority` };
  if (matching.some((e) => e.marker === "@revoked")) return { found: false, reason: `has only revoked keys (line ${lines})` };
  return { found: false, reason: `has no key kubeplug can pin (line ${lines}: expected one of ${HOST_KEY_TYPES.join(", ")})` };
}
