import { mkdtempSync, rmSync } from "node:fs";
import { createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMockedProgram, unwrapSecret } from "../support/pulumi-mocks";

// `agent: true` must not put the agent socket into the resources: $SSH_AUTH_SOCK changes with every
// login session, and a changed connection replaces (and re-runs) every step. @pulumi/command dials
// $SSH_AUTH_SOCK itself when a connection names no socket (see nodeConnection in src/components/cluster.ts).
const stackFile = join(__dirname, "..", "fixtures", "stacks", "Pulumi.agent.yaml");
const saved = process.env.SSH_AUTH_SOCK;
// Two login sessions: two live agent sockets (preflight checks that SSH_AUTH_SOCK names one).
const work = mkdtempSync(join(tmpdir(), "kubeplug-agent-"));
const sockets = [join(work, "ssh-XXXXfirst-agent.1111"), join(work, "ssh-YYYYsecond-agent.2222")];
const agents: Server[] = [];

beforeAll(async () => {
  for (const socket of sockets) {
    const agent = createServer();
    await new Promise<void>((resolve) => agent.listen(socket, resolve));
    agents.push(agent);
  }
});

afterAll(async () => {
  if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
  else process.env.SSH_AUTH_SOCK = saved;
  for (const agent of agents) await new Promise((resolve) => agent.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

/** Every Command's inputs, by name, after running the program with the given agent socket. */
async function commandInputs(socket: string): Promise<Record<string, Record<string, unknown>>> {
  process.env.SSH_AUTH_SOCK = socket;
  const program = await runMockedProgram(stackFile, "agent", {}, 10);
  return Object.fromEntries(
    program.ofType("command:remote:Command").map((c) => [c.name, { ...c.inputs, connection: unwrapSecret(c.inputs.connection).value }]),
  );
}

describe("agent: true under mocks", () => {
  it("two login sessions (two SSH_AUTH_SOCK values) give identical resource inputs, without the socket", async () => {
    const first = await commandInputs(sockets[0]!);
    const second = await commandInputs(sockets[1]!);
    expect(Object.keys(first).sort()).toEqual(["a1", "a2"].flatMap((n) => ["containerd-configure", "containerd-install", "crictl-install", "node-library", "node-prepare", "oci-runtimes-install"].map((s) => `${n}-${s}`)).sort());
    expect(second).toEqual(first);
    for (const inputs of Object.values(first)) {
      expect(JSON.stringify(inputs)).not.toMatch(/agent\.(1111|2222)|agentSocketPath/);
      const connection = inputs.connection as Record<string, unknown>;
      expect(connection).toMatchObject({ user: "kubeplug", port: 22, hostKey: expect.stringMatching(/^ssh-ed25519 /) });
      expect(connection.privateKey).toBeUndefined();
      expect(connection.proxy).toMatchObject({ host: "bastion.agent.example", user: "jump", port: 22 });
    }
  });
});
