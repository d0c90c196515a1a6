import { describe, expect, it } from "vitest";
import { renderContainerd, renderCredentialFragment } from "../../src/components/runtime/containerd-render";
import { parseStackFile } from "../../src/config/stack";

// kubeplug writes registry credentials as registry.configs."<host>".auth in config.toml (hosts.toml has no credential
// field); test/real/registry.real.test.ts pulls with them from a real registry on containerd 1.6, 1.7 and 2.1.
function load(version: string, endpoint: "mirror" | "server", url?: string) {
  const auth = { username: "puller", password: { from: "config", key: "pullPassword" } };
  const registry = endpoint === "mirror"
    ? { mirrors: [{ url: url ?? "https://mirror.internal:5000", auth }] }
    : { server: { url: url ?? "https://registry.internal", auth } };
  const stack = {
    config: {
      "kubeplug:pullPassword": { secure: "v1:stand-in" },
      "kubeplug:cluster": {
        name: "creds",
        ssh: { privateKeyPath: "/dev/null", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2staG9zdC1rZXktZ29sZGVuLi4uLi4uLi4uLi4u" },
        pools: [{ name: "p", runtime: { kind: "containerd", version, registries: { hosts: { "registry.internal": registry } } } }],
        nodes: [{ name: "n1", pool: "p", address: "192.0.2.1" }],
      },
    },
  };
  return parseStackFile("creds", JSON.stringify(stack), "creds.json");
}


describe("credentials are keyed by the endpoint's host as containerd parses it from hosts.toml", () => {
  // containerd looks credentials up by Go's url.Parse(endpoint).Host: an explicit :443 and upper case stay.
  it.each([
    ["https://Mirror.Internal:443/v2/project", "Mirror.Internal:443"],
    ["http://mirror.internal:80", "mirror.internal:80"],
    ["https://[fd00::5]:5000", "[fd00::5]:5000"],
    ["https://mirror.internal", "mirror.internal"],
  ])("%s -> %s", (url, host) => {
    const { config } = load("2.1.9", "mirror", url);
    const runtime = config.cluster.pools[0]!.runtime;
    if (runtime.kind !== "containerd") throw new Error("expected containerd");
    const rendered = renderContainerd(runtime, { pool: "p", cgroupDriver: "systemd", cni: config.network.cni });
    expect(rendered.credentials.map((c) => c.host)).toEqual([host]);
    expect(rendered.registryFiles[0]!.content).toContain(`[host."${url}"]`);
    expect(renderCredentialFragment("2.1.9", [{ host, username: "puller", password: "p" }]))
      .toContain(`[plugins."io.containerd.cri.v1.images".registry.configs.${JSON.stringify(host)}.auth]`);
  });
});
