import { describe, expect, it } from "vitest";
import { KubeplugConfigError } from "../../src/errors";
import { validateStackConfig } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2staG9zdC1rZXktZ29sZGVuLi4uLi4uLi4uLi4u";

const MIRROR = { url: "https://mirror.internal.example:5000", skipVerify: true };

function stack(cluster: Record<string, unknown>, pools: Record<string, unknown>[]) {
  return {
    "kubeplug:cluster": {
      name: "reg",
      ssh: { privateKeyPath: "test/fixtures/keys/mock_ed25519", hostKey: HOST_KEY },
      pools: pools.map((p, i) => ({ name: `p${i}`, labels: { "kubeplug.dev/runtime": (p.runtime as { kind: string }).kind }, ...p })),
      nodes: pools.map((_, i) => ({ name: `n${i}`, pool: `p${i}`, address: `192.0.2.${i + 1}` })),
      ...cluster,
    },
  };
}

const containerd = (version: string, registries?: unknown) => ({ runtime: { kind: "containerd", version, ...(registries ? { registries } : {}) } });
const crio = (registries?: unknown) => ({ runtime: { kind: "crio", version: "1.36.3", install: { from: "preinstalled" }, ...(registries ? { registries } : {}) } });

/** Every file each node's steps install, by node and path. */
function nodeFiles(values: Record<string, unknown>): Map<string, string> {
  const plan = planCluster(validateStackConfig("reg", values).config);
  const files = new Map<string, string>();
  for (const node of plan.nodes) for (const step of node.steps) for (const file of step.files) files.set(`${node.node.name}:${file.path}`, file.content);
  return files;
}

function problems(values: Record<string, unknown>): string[] {
  try {
    validateStackConfig("reg", values);
  } catch (error) {
    expect(error).toBeInstanceOf(KubeplugConfigError);
    return (error as KubeplugConfigError).problems.map((p) => `${p.path}: ${p.message}`);
  }
  throw new Error("the stack was accepted");
}

describe("kubeplug:cluster.registries", () => {
  it("renders, on every pool, exactly what the same hosts written in each pool render", () => {
    const hosts = { "docker.io": { mirrors: [MIRROR] }, "quay.io": { server: { url: "https://quay-proxy.internal.example" } } };
    const inherited = nodeFiles(stack({ registries: { hosts } }, [containerd("1.7.24"), containerd("2.1.4"), crio()]));
    const perPool = nodeFiles(stack({}, [containerd("1.7.24", { hosts }), containerd("2.1.4", { hosts }), crio({ hosts: { "docker.io": { mirrors: [{ url: MIRROR.url, insecure: true }] }, "quay.io": hosts["quay.io"] } })]));
    expect(inherited).toEqual(perPool);
    expect(inherited.get("n1:/etc/containerd/certs.d/docker.io/hosts.toml")).toContain('[host."https://mirror.internal.example:5000"]');
    expect(inherited.get("n2:/etc/containers/registries.conf.d/50-kubeplug.conf")).toContain('location = "mirror.internal.example:5000"');
  });

  it("warns once, at the cluster path, however many pools inherit the host", () => {
    const { warnings } = validateStackConfig("reg", stack({ registries: { hosts: { "docker.io": { mirrors: [MIRROR] } } } }, [containerd("2.1.4"), containerd("2.1.4"), containerd("1.7.24")]));
    expect(warnings.filter((w) => /TLS verification/.test(w.message))).toEqual([
      { path: 'kubeplug:cluster.registries.hosts["docker.io"].mirrors[0].skipVerify', message: "TLS verification is off for https://mirror.internal.example:5000" },
    ]);
  });

  it("names every containerd line that logs the inherited credential table in one warning", () => {
    const auth = { username: "puller", password: { from: "config", key: "pullPassword" } };
    const { warnings } = validateStackConfig("reg", {
      ...stack({ registries: { hosts: { "registry.internal.example": { server: { url: "https://registry.internal.example", auth } } } } }, [containerd("1.6.20"), containerd("1.7.24"), containerd("2.1.4"), containerd("2.1.9")]),
      "kubeplug:pullPassword": { secure: "v1:stand-in" },
    });
    const credential = warnings.filter((w) => w.message.includes("credential table"));
    expect(credential.map((w) => w.path)).toEqual(['kubeplug:cluster.registries.hosts["registry.internal.example"].server.auth']);
    expect(credential[0]!.message).toMatch(/^containerd 1\.7, 2\.1 log the credential table kubeplug writes for registry\.internal\.example .*; while the table is there, containerd 2\.1 also pulls every image/);
  });

  it("lets a pool add hosts and replace an inherited one per host", () => {
    const files = nodeFiles(
      stack({ registries: { hosts: { "docker.io": { mirrors: [MIRROR] } } } }, [
        containerd("2.1.4", { hosts: { "ghcr.io": { mirrors: [{ url: "https://ghcr-mirror.internal.example" }] } } }),
        containerd("2.1.4", { overrides: { "docker.io": { mirrors: [{ url: "https://eu-mirror.internal.example" }] } } }),
      ]),
    );
    expect(files.get("n0:/etc/containerd/certs.d/ghcr.io/hosts.toml")).toContain("ghcr-mirror.internal.example");
    expect(files.get("n0:/etc/containerd/certs.d/docker.io/hosts.toml")).toContain("mirror.internal.example:5000");
    expect(files.get("n1:/etc/containerd/certs.d/docker.io/hosts.toml")).toContain("eu-mirror.internal.example");
    expect(files.get("n1:/etc/containerd/certs.d/docker.io/hosts.toml")).not.toContain("mirror.internal.example:5000");
    expect(files.has("n1:/etc/containerd/certs.d/ghcr.io/hosts.toml")).toBe(false);
  });

  it("refuses a pool host that shadows an inherited one, and an override of a host not inherited", () => {
    expect(
      problems(
        stack({ registries: { hosts: { "docker.io": { mirrors: [{ url: "https://mirror.internal.example" }] } } } }, [
          containerd("2.1.4", { hosts: { "docker.io": { mirrors: [] } } }),
          containerd("2.1.4", { overrides: { "quay.io": { mirrors: [] } } }),
        ]),
      ),
    ).toEqual([
      'kubeplug:cluster.pools[0].runtime.registries.hosts["docker.io"]: docker.io is inherited from kubeplug:cluster.registries.hosts; to replace the cluster\'s entry for this pool, move it to registries.overrides',
      'kubeplug:cluster.pools[1].runtime.registries.overrides["quay.io"]: quay.io is not in kubeplug:cluster.registries.hosts (inherited: docker.io), so there is nothing to override; add it under registries.hosts',
    ]);
  });

  it("names each CRI-O pool that cannot take part of an inherited host, unless the pool overrides that host", () => {
    const hosts = {
      "docker.io": { mirrors: [{ url: "https://mirror.internal.example", ca: ["/etc/pki/mirror.pem"], overridePath: true, capabilities: ["pull"] }] },
      _default: { mirrors: [{ url: "https://any.internal.example" }] },
    };
    expect(problems(stack({ registries: { hosts } }, [containerd("2.1.4"), crio(), crio({ overrides: { "docker.io": { mirrors: [{ url: "https://mirror.internal.example" }] }, _default: { mirrors: [] } } })]))).toEqual([
      'kubeplug:cluster.registries.hosts["docker.io"].mirrors[0].ca: pool "p1" runs CRI-O, which cannot take this: CRI-O reads CAs from /etc/containers/certs.d, not from its registry entry; give docker.io a CRI-O entry in pools[1].runtime.registries.overrides',
      'kubeplug:cluster.registries.hosts["docker.io"].mirrors[0].overridePath: pool "p1" runs CRI-O, which cannot take this: registries.conf locations always take /v2 below them; give docker.io a CRI-O entry in pools[1].runtime.registries.overrides',
      'kubeplug:cluster.registries.hosts["docker.io"].mirrors[0].capabilities: pool "p1" runs CRI-O, which cannot take this: CRI-O mirrors serve pulls and tag resolution together, not ["pull"]; give docker.io a CRI-O entry in pools[1].runtime.registries.overrides',
      'kubeplug:cluster.registries.hosts._default: pool "p1" runs CRI-O, which cannot take this: registries.conf has no entry for every host (_default); give _default a CRI-O entry in pools[1].runtime.registries.overrides',
    ]);
  });

  it("carries inherited server credentials to CRI-O's auth.json and refuses an unset secret at the cluster path", () => {
    const auth = { username: "puller", password: { from: "config", key: "pullPassword" } };
    const values = stack({ registries: { hosts: { "registry.internal.example": { server: { url: "https://registry.internal.example", auth } } } } }, [crio()]);
    expect(problems(values)).toEqual([
      'kubeplug:cluster.registries.hosts["registry.internal.example"].server.auth.password.key: "pullPassword" is not set in this stack; run: pulumi config set --secret kubeplug:pullPassword <value>',
    ]);
    const { config } = validateStackConfig("reg", { ...values, "kubeplug:pullPassword": { secure: "v1:stand-in" } });
    const runtime = config.cluster.pools[0]!.runtime;
    expect(runtime.kind === "crio" && runtime.registries.hosts["registry.internal.example"]!.auth).toEqual(auth);
  });
});
