import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderContainerd, renderCredentialFragment } from "../../src/components/runtime/containerd-render";
import { parseStackFile } from "../../src/config/stack";
import { ConfigWarning } from "../../src/errors";
import { containerdBinDir, DebianContainerdLine, debianContainerdName, debianContainerdVersion } from "../support/containerd-binaries";
import { CriClient } from "../support/cri/client";
import { IMAGE_TOOLS, imageArchives } from "../support/oci-image";
import { PRIVATE_CONTAINERD_TOOLS, PrivateContainerd, startPrivateContainerd } from "../support/private-containerd";
import { isRunning } from "../support/procs";
import { distinctImages, HeldNetns, holdNetns, inNetns, makeTestPki, pushImage, REGISTRY_TOOLS, startRegistry, TestPki, TestRegistry, writeHtpasswd } from "../support/registry";
import { missingTools } from "../support/tools";

// containerd pulls through the hosts.toml kubeplug renders, from a real registry: Debian's docker-registry
// (distribution 2.8.2) runs three times on one storage directory, in a network namespace of the test's own:
// TLS with htpasswd auth, TLS without auth, and plain http. The test image (busybox-static from Debian) is pushed
// with skopeo, with credentials and the test CA. Then Debian's containerd 1.6.20, 1.7.24 and 2.1.9 each pull with
// the CRI PullImage, kubelet's call, from a config and hosts.toml files kubeplug rendered from a typed stack, and
// the registries' own access logs show which instance served each pull (and that the others saw nothing of it).
// Each scenario has a repository of its own, so a log line names its scenario.
const skip = missingTools([...PRIVATE_CONTAINERD_TOOLS, ...IMAGE_TOOLS, ...REGISTRY_TOOLS, "curl"], true);

const LINES: DebianContainerdLine[] = ["1.6", "1.7", "2.1"];
// The auth instance listens on 443 and its mirror URL says so (https://127.0.0.1:443): containerd looks credentials
// up by the host as written, port included, so this also proves kubeplug keys them the same way.
const PORTS = { tlsAuth: 443, tls: 5002, plain: 5003, closed: 5009, serverOnly: 5004 } as const;
// A registry named by an address that is not localhost: containerd 1.6.9+ talks plain HTTP to
// localhost whatever hosts.toml says, so only such an address shows whether its `server = "http://..."` is read.
const SERVER_ONLY_ADDRESS = "10.99.0.1";
const USER = "puller";
const PASSWORD = "registry-test-password";
const PASSWORD_ENV = "KUBEPLUG_TEST_REGISTRY_PASSWORD";
const REPOS = ["ca", "auth", "override", "skipverify", "fallback"] as const;
type Repo = (typeof REPOS)[number];
type Instance = "tlsAuth" | "tls" | "plain";

/** Where a scenario's image lives in the registry. */
const repoPath = (repo: Repo) => (repo === "override" ? "override-root/kubeplug/override" : `kubeplug/${repo}`);

/** The image reference a scenario pulls: `<registry name kubeplug configures>/kubeplug/<repo>:1`. */
const ref = (registryName: string, repo: Repo) => `${registryName}/kubeplug/${repo}:1`;

/** The typed registries section a user would write, for the three running instances. */
function registries(configPath: string, pki: TestPki, urls: Record<Instance, string>, withAuth: boolean): Record<string, unknown> {
  const auth = withAuth ? { auth: { username: USER, password: { from: "env", name: PASSWORD_ENV } } } : {};
  return {
    configPath,
    hosts: {
      "ca.test": { mirrors: [{ url: urls.tls, ca: [{ pem: pki.caPem }] }] },
      "auth.test": { mirrors: [{ url: urls.tlsAuth, ca: [{ pem: pki.caPem }], ...auth }] },
      // A mirror whose API root is not /v2 (a project path on a proxy): the image lives at override-root/kubeplug/override.
      "override.test": { mirrors: [{ url: `${urls.plain}/v2/override-root`, overridePath: true }] },
      // The same endpoint without override_path: containerd appends /v2 to a path that does not end in it.
      "no-override.test": { mirrors: [{ url: `${urls.plain}/v2/override-root` }] },
      "skipverify.test": { mirrors: [{ url: urls.tls, skipVerify: true }] },
      // Neither a CA nor skip_verify: the test CA is unknown to containerd.
      "verify.test": { mirrors: [{ url: urls.tls }] },
      "fallback.test": { mirrors: [{ url: `http://127.0.0.1:${PORTS.closed}` }, { url: urls.plain }] },
      // No mirrors: a registry the user runs without TLS, reached as itself.
      [`${SERVER_ONLY_ADDRESS}:${PORTS.serverOnly}`]: { server: { url: `http://${SERVER_ONLY_ADDRESS}:${PORTS.serverOnly}` } },
    },
  };
}

/** kubeplug's parse and rendering of a one-pool stack, as the configure step would install it. */
function render(line: DebianContainerdLine, registriesSection: Record<string, unknown>): { configToml: string; files: { path: string; content: string; mode: number }[]; warnings: readonly ConfigWarning[] } {
  const version = debianContainerdVersion(line);
  const stack = {
    config: {
      "kubeplug:cluster": {
        name: "registry",
        ssh: { privateKeyPath: "/dev/null", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2staG9zdC1rZXktZ29sZGVuLi4uLi4uLi4uLi4u" },
        kubelet: { cgroupDriver: "cgroupfs" },
        pools: [{ name: "p", runtime: { kind: "containerd", version, runtimes: { runc: { engine: "runc", install: { from: "package" } } }, registries: registriesSection } }],
        nodes: [{ name: "n1", pool: "p", address: "192.0.2.1" }],
      },
    },
  };
  // JSON is YAML: the stack goes through the same loader a stack file does.
  const { config, warnings } = parseStackFile("registry", JSON.stringify(stack), `registry-${version}.json`);
  const runtime = config.cluster.pools[0]!.runtime;
  if (runtime.kind !== "containerd") throw new Error("expected a containerd pool");
  const rendered = renderContainerd(runtime, { pool: "p", cgroupDriver: config.cluster.kubelet.cgroupDriver, cni: config.network.cni });
  // What containerd-configure.sh does with the secret payload: append it to config.toml.
  const secrets = rendered.credentials.map((c) => ({ host: c.host, username: c.username, password: process.env[(c.password as { name: string }).name]! }));
  const configToml = rendered.configToml + renderCredentialFragment(version, secrets);
  return { configToml, files: rendered.registryFiles.map((f) => ({ ...f })), warnings };
}

/** Per containerd line: pull durations in ms by scenario, printed at the end for the record. */
const timings: Record<string, Record<string, number>> = {};

describe.skipIf(skip)(`containerd pulls through kubeplug's hosts.toml from a real registry${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let work: string;
  let netns: HeldNetns | undefined;
  let pki: TestPki;
  const registriesUp: Partial<Record<Instance, TestRegistry>> = {};
  let serverOnly: TestRegistry | undefined;
  const reg = (name: Instance) => registriesUp[name]!;
  const urls = () => ({ tlsAuth: reg("tlsAuth").url, tls: reg("tls").url, plain: reg("plain").url });

  beforeAll(async () => {
    process.env[PASSWORD_ENV] = PASSWORD;
    work = mkdtempSync("/tmp/kp-reg-");
    netns = await holdNetns();
    pki = makeTestPki(join(work, "pki"));
    const htpasswd = join(work, "htpasswd");
    writeHtpasswd(htpasswd, USER, PASSWORD);
    const storage = join(work, "storage");
    const common = { netns: netns.path, storage, workDir: join(work, "registries") };
    const tls = { cert: pki.serverCert, key: pki.serverKey };
    registriesUp.tlsAuth = await startRegistry({ ...common, name: "tls-auth", port: PORTS.tlsAuth, tls, htpasswd });
    registriesUp.tls = await startRegistry({ ...common, name: "tls", port: PORTS.tls, tls });
    registriesUp.plain = await startRegistry({ ...common, name: "plain", port: PORTS.plain });
    const images = distinctImages(imageArchives().busybox, join(work, "images"), REPOS);
    for (const repo of REPOS) pushImage(netns.path, images[repo]!, reg("tlsAuth"), `${repoPath(repo)}:1`, { username: USER, password: PASSWORD, certDir: pki.certDir });
    inNetns(netns.path, ["ip", "addr", "add", `${SERVER_ONLY_ADDRESS}/32`, "dev", "lo"]);
    serverOnly = await startRegistry({ netns: netns.path, name: "server-only", address: SERVER_ONLY_ADDRESS, port: PORTS.serverOnly, storage: join(work, "storage-server-only"), workDir: join(work, "registries") });
    pushImage(netns.path, `oci-archive:${imageArchives().busybox}`, serverOnly, "kubeplug/server:1");
  });

  afterAll(async () => {
    for (const r of [...Object.values(registriesUp), ...(serverOnly ? [serverOnly] : [])]) await r.stop();
    await netns?.stop();
    const pids = [...Object.values(registriesUp).map((r) => r.pid), ...(serverOnly ? [serverOnly.pid] : []), ...(netns ? [netns.pid] : [])];
    expect(pids.filter(isRunning)).toEqual([]);
    if (work) rmSync(work, { recursive: true, force: true });
    delete process.env[PASSWORD_ENV];
    if (Object.keys(timings).length > 0) console.log(`registry pulls (ms): ${JSON.stringify(timings)}`);
  });

  it("the push went to the TLS + auth instance with credentials (401 without, 201 for each manifest)", () => {
    const pushed = reg("tlsAuth").requests();
    for (const repo of REPOS) {
      expect(pushed).toContainEqual(expect.objectContaining({ method: "PUT", uri: `/v2/${repoPath(repo)}/manifests/1`, status: 201 }));
    }
    expect(pushed.some((r) => r.status === 401)).toBe(true);
    // The TLS instance saw only the readiness probe of its API root.
    expect(reg("tls").requests().filter((r) => r.uri !== "/v2/")).toEqual([]);
  });

  describe.each(LINES)("containerd %s", (line) => {
    const name = debianContainerdName(line);
    const version = debianContainerdVersion(line);
    let c: PrivateContainerd | undefined;
    let cri: CriClient | undefined;

    async function start(withAuth: boolean): Promise<readonly ConfigWarning[]> {
      const configPath = join(work, `certs.d-${line}`);
      rmSync(configPath, { recursive: true, force: true });
      const { configToml, files, warnings } = render(line, registries(configPath, pki, urls(), withAuth));
      for (const f of files) {
        mkdirSync(dirname(f.path), { recursive: true });
        writeFileSync(f.path, f.content, { mode: f.mode });
      }
      const workDir = mkdtempSync(join(work, `c${line}-`));
      c = await startPrivateContainerd({ configToml, binDir: containerdBinDir(line), workDir, netns: netns!.path });
      cri = new CriClient(c.address);
      return warnings;
    }

    async function finish(): Promise<void> {
      cri?.close();
      await c?.stop();
      if (c) expect(isRunning(c.pid)).toBe(false);
      cri = undefined;
      c = undefined;
    }

    /** Pulls `image` and returns what each instance logged meanwhile. */
    async function pull(image: string): Promise<{ imageRef?: string; error?: string; seen: Record<Instance, ReturnType<TestRegistry["requests"]>>; ms: number }> {
      const marks = { tlsAuth: reg("tlsAuth").mark(), tls: reg("tls").mark(), plain: reg("plain").mark() };
      const started = Date.now();
      let imageRef: string | undefined;
      let error: string | undefined;
      try {
        imageRef = await cri!.pullImage(image);
      } catch (err) {
        error = (err as Error).message;
      }
      const ms = Date.now() - started;
      const seen = { tlsAuth: reg("tlsAuth").requests(marks.tlsAuth), tls: reg("tls").requests(marks.tls), plain: reg("plain").requests(marks.plain) };
      return { ...(imageRef ? { imageRef } : {}), ...(error ? { error } : {}), seen, ms };
    }

    /** The pull succeeded, `by` served the manifest and blobs to this containerd, and no other instance saw the repo. */
    async function expectServedBy(image: string, repo: Repo, by: Instance, scenario: string, prefix = "/v2"): Promise<ReturnType<typeof pull>> {
      const result = await pull(image);
      expect(result.error).toBeUndefined();
      expect(result.imageRef).toMatch(/^sha256:[0-9a-f]{64}$/);
      const mine = result.seen[by].filter((r) => r.uri.startsWith(`${prefix}/kubeplug/${repo}/`));
      const manifestGets = mine.filter((r) => r.method === "GET" && r.status === 200 && r.uri.includes("/manifests/"));
      expect(manifestGets.length, `manifest GETs on ${by}`).toBeGreaterThanOrEqual(1);
      // At least the config blob: the layer is shared by every scenario's image, so only the first pull fetches it.
      expect(mine.filter((r) => r.method === "GET" && r.status === 200 && r.uri.includes("/blobs/sha256:")).length).toBeGreaterThanOrEqual(1);
      for (const r of mine) expect(r.userAgent).toMatch(new RegExp(`^containerd/v?${version.replace(/\./g, "\\.")}`));
      for (const other of (["tlsAuth", "tls", "plain"] as const).filter((i) => i !== by)) {
        expect(result.seen[other].filter((r) => r.uri.includes(`/kubeplug/${repo}/`)), `requests on ${other}`).toEqual([]);
      }
      (timings[line] ??= {})[scenario] = result.ms;
      return result;
    }

    describe("hosts.toml only, no credentials in config.toml", () => {
      beforeAll(async () => { await start(false); });
      afterAll(finish);

      it(`${name}: a mirror with the CA kubeplug writes next to hosts.toml (ca) is served by the TLS instance`, async () => {
        await expectServedBy(ref("ca.test", "ca"), "ca", "tls", "ca");
      });

      it(`${name}: override_path makes the mirror URL's path the API root; without it containerd appends /v2 and misses`, async () => {
        await expectServedBy(ref("override.test", "override"), "override", "plain", "override_path", "/v2/override-root");
        const without = await pull(ref("no-override.test", "override"));
        expect(without.error).toBeDefined();
        const asked = without.seen.plain.filter((r) => r.uri.startsWith("/v2/override-root/v2/kubeplug/override/manifests/1"));
        expect(asked.length).toBeGreaterThanOrEqual(1);
        expect(asked.every((r) => r.status === 404)).toBe(true);
        expect(without.seen.plain.filter((r) => r.uri.startsWith("/v2/override-root/kubeplug/"))).toEqual([]);
      });

      it(`${name}: skip_verify pulls from the TLS instance without the CA; without either the TLS handshake fails`, async () => {
        await expectServedBy(ref("skipverify.test", "skipverify"), "skipverify", "tls", "skip_verify");
        const logFrom = Buffer.byteLength(readFileSync(reg("tls").logPath, "utf8"));
        const verified = await pull(ref("verify.test", "skipverify"));
        expect(verified.error).toMatch(/x509: certificate signed by unknown authority/);
        expect(verified.seen.tls).toEqual([]);
        expect(readFileSync(reg("tls").logPath).subarray(logFrom).toString()).toMatch(/TLS handshake error from 127\.0\.0\.1:\d+: remote error: tls: bad certificate/);
      });

      it(`${name}: a mirror on a closed port is skipped for the next one`, async () => {
        await expectServedBy(ref("fallback.test", "fallback"), "fallback", "plain", "fallback");
        expect(readFileSync(c!.logPath, "utf8")).toMatch(new RegExp(`127\\.0\\.0\\.1:${PORTS.closed}.*connect: connection refused`));
      });

      it(`${name}: a registry with only a plain-HTTP server and no mirrors is pulled from over HTTP, as its hosts.toml says`, async () => {
        const mark = serverOnly!.mark();
        const started = Date.now();
        const imageRef = await cri!.pullImage(`${SERVER_ONLY_ADDRESS}:${PORTS.serverOnly}/kubeplug/server:1`);
        (timings[line] ??= {})["server_only"] = Date.now() - started;
        expect(imageRef).toMatch(/^sha256:[0-9a-f]{64}$/);
        const manifests = serverOnly!.requests(mark).filter((r) => r.uri.startsWith("/v2/kubeplug/server/manifests/"));
        // Before kubeplug wrote an empty `host` table, containerd 1.6 and 1.7 dropped this hosts.toml ("invalid `host` tree") and asked over HTTPS.
        expect(manifests.some((r) => r.status === 200)).toBe(true);
      });

      it(`${name}: the mirror that needs auth refuses the pull (401) while config.toml has no credentials`, async () => {
        const refused = await pull(ref("auth.test", "auth"));
        expect(refused.error).toBeDefined();
        const asked = refused.seen.tlsAuth.filter((r) => r.uri.startsWith("/v2/kubeplug/auth/"));
        expect(asked.length).toBeGreaterThanOrEqual(1);
        expect(asked.every((r) => r.status === 401)).toBe(true);
      });

      if (line === "2.1") {
        it(`${name}: without credential tables the CRI pulls through the transfer service`, () => {
          expect(readFileSync(c!.logPath, "utf8")).not.toContain("Falling back to local image pull mode");
        });
      }
    });

    describe("with the credentials kubeplug appends to config.toml", () => {
      let warnings: readonly ConfigWarning[] = [];
      beforeAll(async () => { warnings = await start(true); });
      afterAll(finish);

      it(`${name}: the mirror that needs auth serves the pull with kubeplug's credentials (401, then 200)`, async () => {
        const result = await expectServedBy(ref("auth.test", "auth"), "auth", "tlsAuth", "auth");
        const asked = result.seen.tlsAuth.filter((r) => r.uri.startsWith("/v2/kubeplug/auth/"));
        expect(asked[0]!.status).toBe(401);
        expect(readFileSync(c!.configPath, "utf8")).toContain(`registry.configs."${reg("tlsAuth").host}".auth]`);
      });

      it(`${name}: containerd's log and kubeplug's plan warning agree on the credential table's deprecation`, () => {
        const log = readFileSync(c!.logPath, "utf8");
        const deprecated = "`configs` is deprecated, please use `config_path` instead";
        const fallback = "Found 'Registry.Configs' in CRI config which is incompatible with transfer service (not supported with transfer service (also deprecated)). Falling back to local image pull mode.";
        const planned = warnings.filter((w) => w.path.endsWith(".auth") && /deprecat/.test(w.message));
        if (line === "1.6") {
          expect(log).not.toContain(deprecated);
          expect(planned).toEqual([]);
          return;
        }
        expect(log).toContain(deprecated);
        expect(planned).toHaveLength(1);
        expect(planned[0]!.message).toContain("registry.configs");
        expect(planned[0]!.message).toContain(deprecated);
        if (line === "2.1") {
          expect(log).toContain(fallback);
          expect(planned[0]!.message).toContain("transfer service");
        }
      });
    });
  });
});
