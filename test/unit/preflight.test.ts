import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateStackConfig } from "../../src/config/stack";
import { LocalEnvironment, preflight } from "../../src/plan/preflight";

// preflight: what pulumi up needs from this machine, each problem at the field that names it.
const work = mkdtempSync(join(tmpdir(), "kubeplug-preflight-unit-"));
const socket = join(work, "agent.sock");
let agent: Server;

beforeAll(async () => {
  mkdirSync(join(work, "keys"));
  writeFileSync(join(work, "keys", "node"), "stand-in private key\n");
  agent = createServer();
  await new Promise<void>((resolve) => agent.listen(socket, resolve));
});
afterAll(async () => {
  await new Promise((resolve) => agent.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

const local = (env: Record<string, string> = {}): LocalEnvironment => ({ projectDir: work, homeDir: join(work, "home"), env });

function problems(ssh: Record<string, unknown>, nodeSsh: Record<string, unknown>[] = [], env: Record<string, string> = {}): string[] {
  const nodes = [0, 1].map((i) => ({ name: `n${i}`, pool: "p", address: `192.0.2.${i + 1}`, ...(nodeSsh[i] ? { ssh: nodeSsh[i] } : {}) }));
  const { config } = validateStackConfig("t", {
    "kubeplug:cluster": { name: "t", ssh: { insecureSkipHostKeyCheck: true, ...ssh }, pools: [{ name: "p", runtime: { kind: "containerd", version: "2.1.9" } }], nodes },
  });
  return preflight(config, local(env)).problems.map((p) => `${p.path}: ${p.message}`);
}

describe("preflight", () => {
  it("accepts a readable key file, relative to the project directory", () => {
    expect(problems({ privateKeyPath: "keys/node" })).toEqual([]);
  });

  it("refuses a directory where the key should be", () => {
    expect(problems({ privateKeyPath: "keys" })).toEqual(['kubeplug:cluster.ssh.privateKeyPath: "keys" is not a file; it must be the private key itself']);
  });

  it("checks only keys some node uses: a cluster key every node overrides is not read", () => {
    expect(problems({ privateKeyPath: "keys/gone" }, [{ privateKeyPath: "keys/node" }, { privateKeyPath: "keys/node" }])).toEqual([]);
    expect(problems({ privateKeyPath: "keys/gone" }, [{ privateKeyPath: "keys/node" }])).toEqual([
      'kubeplug:cluster.ssh.privateKeyPath: no file "keys/gone" (relative to the project directory); pulumi up reads the private key from it',
    ]);
  });

  it("agent: true needs SSH_AUTH_SOCK to name a live socket", () => {
    expect(problems({ agent: true }, [], { SSH_AUTH_SOCK: socket })).toEqual([]);
    expect(problems({ agent: true }, [], { SSH_AUTH_SOCK: join(work, "gone.sock") })).toEqual([
      `kubeplug:cluster.ssh.agent: agent: true, but SSH_AUTH_SOCK names ${JSON.stringify(join(work, "gone.sock"))}, which is not a socket (a stale session?)`,
    ]);
  });

  it("checks a bastion's own credentials where the bastion is written", () => {
    const bastion = { address: "192.0.2.100", agent: true };
    expect(problems({ privateKeyPath: "keys/node" }, [{ bastion }, { bastion }])).toEqual([
      'kubeplug:cluster.nodes[0].ssh.bastion.agent: agent: true needs an SSH agent, but SSH_AUTH_SOCK is not set; start one (eval "$(ssh-agent)" && ssh-add) or set privateKeyPath',
      'kubeplug:cluster.nodes[1].ssh.bastion.agent: agent: true needs an SSH agent, but SSH_AUTH_SOCK is not set; start one (eval "$(ssh-agent)" && ssh-add) or set privateKeyPath',
    ]);
  });
});
