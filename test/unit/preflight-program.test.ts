import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { KubeplugConfigError } from "../../src/errors";
import { stackProgram } from "../../src/stack-program";

// The Pulumi program runs the same preflight as `npm run render`: what this machine lacks is a
// config error at the field that names it, thrown before any resource exists (it used to be a raw
// ENOENT from Cluster, or a plain Error without the field).

/** Runs the program on the network fixture stack, changed by `edit`, and returns what it throws. */
async function programError(edit: (cluster: Record<string, any>) => void): Promise<unknown> {
  const doc = yaml.load(readFileSync(join(__dirname, "..", "fixtures", "stacks", "Pulumi.network.yaml"), "utf8")) as { config: Record<string, any> };
  edit(doc.config["kubeplug:cluster"]);
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, JSON.stringify(v)])), []);
  await pulumi.runtime.setMocks({ newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: () => ({}) }, "kubeplug", "preflight");
  try {
    stackProgram();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("the program's preflight", () => {
  it("refuses a private key file that does not exist, at its field", async () => {
    const error = await programError((cluster) => {
      cluster.ssh.privateKeyPath = "test/fixtures/keys/no_such_key";
    });
    expect(error).toBeInstanceOf(KubeplugConfigError);
    expect((error as Error).message).toBe(
      'invalid kubeplug configuration (1 problem):\n  kubeplug:cluster.ssh.privateKeyPath: no file "test/fixtures/keys/no_such_key" (relative to the project directory); pulumi up reads the private key from it',
    );
  });

  it("refuses a secret from an environment variable that is not set, at its field", async () => {
    delete process.env.KUBEPLUG_TEST_UNSET_TOKEN;
    const error = await programError((cluster) => {
      cluster.pools[0].runtime.registries = { hosts: { "ghcr.io": { mirrors: [{ url: "https://ghcr.mirror.example", auth: { username: "bot", password: { from: "env", name: "KUBEPLUG_TEST_UNSET_TOKEN" } } }] } } };
    });
    expect(error).toBeInstanceOf(KubeplugConfigError);
    expect((error as Error).message).toBe(
      'invalid kubeplug configuration (1 problem):\n  kubeplug:cluster.pools[0].runtime.registries.hosts["ghcr.io"].mirrors[0].auth.password.name: environment variable KUBEPLUG_TEST_UNSET_TOKEN is not set; pulumi up reads this secret from it',
    );
  });
});
