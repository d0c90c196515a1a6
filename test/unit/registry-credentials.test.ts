import { describe, expect, it } from "vitest";
import { renderContainerd, renderCredentialFragment } from "../../src/components/runtime/containerd-render";
import { parseStackFile } from "../../src/config/stack";

// kubeplug writes registry credentials as registry.configs."<host>".auth in config.toml (hosts.toml has no credential
// field). containerd 1.7 and 2.x log that table as deprecated, and 2.1+ also stops pulling through its transfer
// service while it is there: test/real/registry.real.test.ts captures both lines from 1.7.24's and 2.1.9's logs.
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

function warningsFor(version: string, endpoint: "mirror" | "server"): string[] {
  return load(version, endpoint).warnings
    .filter((w) => w.path.endsWith(".auth"))
    .map((w) => `${w.path}: ${w.message}`);
}

const MIRROR = 'kubeplug:cluster.pools[0].runtime.registries.hosts["registry.internal"].mirrors[0].auth';
const deprecated = (line: string, host: string) =>
  `containerd ${line} logs the credential table kubeplug writes for ${host} (registry.configs."${host}".auth in config.toml) as deprecated: "\`configs\` is deprecated, please use \`config_path\` instead"; hosts.toml has no credential field, and containerd keeps the table until a secret plugin replaces it (removal announced for 2.4). For pods, Kubernetes image pull secrets or a kubelet credential provider replace it`;
const transfer = (line: string) => `; while the table is there, containerd ${line} also pulls every image of the node without its transfer service ("Falling back to local image pull mode")`;

describe("the plan warns where containerd deprecates the credential table kubeplug writes", () => {
  it.each([
    ["1.6.20", []],
    ["1.7.24", [`${MIRROR}: ${deprecated("1.7", "mirror.internal:5000")}`]],
    ["2.0.5", [`${MIRROR}: ${deprecated("2.0", "mirror.internal:5000")}`]],
    ["2.1.9", [`${MIRROR}: ${deprecated("2.1", "mirror.internal:5000")}${transfer("2.1")}`]],
    ["2.3.4", [`${MIRROR}: ${deprecated("2.3", "mirror.internal:5000")}${transfer("2.3")}`]],
  ] as const)("containerd %s", (version, expected) => {
    expect(warningsFor(version, "mirror")).toEqual(expected);
  });

  it("names the server's host for credentials on the server endpoint", () => {
    expect(warningsFor("2.1.9", "server")).toEqual([
      `kubeplug:cluster.pools[0].runtime.registries.hosts["registry.internal"].server.auth: ${deprecated("2.1", "registry.internal")}${transfer("2.1")}`,
    ]);
  });
});

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
