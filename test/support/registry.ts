/**
 * A real OCI registry for real tests: Debian's `docker-registry` (CNCF distribution 2.8) with a test CA, TLS and
 * htpasswd auth, each instance in a network namespace the test holds, so its ports clash with nothing. Instances may
 * share one storage directory: an image pushed to one is served by all, and each instance's own access log says
 * which one a client really asked.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitGone } from "./procs";

/** Host tools the registry tests need; for `missingTools`. */
export const REGISTRY_TOOLS = ["docker-registry", "skopeo", "openssl", "htpasswd", "nsenter", "unshare", "ip"];

const START_TIMEOUT_MS = 15_000;

/** A network namespace of the test's own, with only `lo` (up): held by a `sleep` the test ends by PID. */
export interface HeldNetns {
  /** `/proc/<pid>/ns/net`, for `nsenter --net=` and `PrivateContainerdOptions.netns`. */
  path: string;
  pid: number;
  stop(): Promise<void>;
}

export async function holdNetns(): Promise<HeldNetns> {
  // unshare and sh exec, so the PID is sleep's own and its namespace is the new one.
  const child = spawn("unshare", ["--net", "--", "sh", "-c", "ip link set lo up && exec sleep infinity"], { stdio: "ignore" });
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start unshare");
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    child.kill("SIGKILL");
    await exit;
  };
  const until = Date.now() + START_TIMEOUT_MS;
  // The namespace is ready once sleep runs (sh brought lo up before exec).
  while (!readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep")) {
    if (Date.now() > until) {
      await stop();
      throw new Error("network namespace holder did not start");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { path: `/proc/${pid}/ns/net`, pid, stop };
}

/** Runs a command inside a held namespace; returns its stdout. */
export function inNetns(netns: string, argv: string[], input?: string): string {
  return execFileSync("nsenter", [`--net=${netns}`, "--", ...argv], { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

export interface TestPki {
  caCert: string;
  caPem: string;
  /** Directory holding only `ca.crt`, as skopeo's `--dest-cert-dir` wants it. */
  certDir: string;
  serverCert: string;
  serverKey: string;
}

/** A throwaway CA and a server certificate for `ips` (default 127.0.0.1) signed by it (EC P-256, valid two days). */
export function makeTestPki(dir: string, ips: readonly string[] = ["127.0.0.1"]): TestPki {
  mkdirSync(dir, { recursive: true });
  const certDir = join(dir, "certs");
  mkdirSync(certDir, { recursive: true });
  const p = (f: string) => join(dir, f);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...ec, "-keyout", p("ca.key"), "-out", join(certDir, "ca.crt"), "-days", "2", "-subj", "/CN=kubeplug test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  ssl("req", ...ec, "-keyout", p("server.key"), "-out", p("server.csr"), "-subj", `/CN=${ips[0]}`);
  writeFileSync(p("server.ext"), `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(",")}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
  ssl("x509", "-req", "-in", p("server.csr"), "-CA", join(certDir, "ca.crt"), "-CAkey", p("ca.key"), "-CAcreateserial",
    "-out", p("server.crt"), "-days", "2", "-extfile", p("server.ext"));
  const caCert = join(certDir, "ca.crt");
  return { caCert, caPem: readFileSync(caCert, "utf8"), certDir, serverCert: p("server.crt"), serverKey: p("server.key") };
}

/** An htpasswd file with one bcrypt entry (the only hash distribution accepts); the password goes on stdin. */
export function writeHtpasswd(path: string, user: string, password: string): void {
  writeFileSync(path, execFileSync("htpasswd", ["-niB", user], { input: password, encoding: "utf8" }));
}

/** One line of the registry's access log (Apache combined format, which distribution writes to stdout). */
export interface AccessLine {
  /** The client's address, as the registry saw it. */
  remote: string;
  method: string;
  uri: string;
  status: number;
  userAgent: string;
}

const ACCESS_LINE = /^(\S+) - \S+ \[[^\]]+\] "(\S+) (\S+) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "([^"]*)"$/;

export interface RegistryOptions {
  /** Names the instance in messages and its log file. */
  name: string;
  netns: string;
  /** Port on `address` in `netns`. */
  port: number;
  /** Default 127.0.0.1; e.g. the host's address on a test bed's link. */
  address?: string;
  storage: string;
  workDir: string;
  tls?: { cert: string; key: string };
  htpasswd?: string;
}

export interface TestRegistry {
  name: string;
  /** `https://<address>:<port>` or `http://...`. */
  url: string;
  /** `<address>:<port>`. */
  host: string;
  pid: number;
  logPath: string;
  /** Where the log ends now: pass it to `requests` to see only what came after. */
  mark(): number;
  /** Access-log lines written since `from` (a `mark()`). */
  requests(from?: number): AccessLine[];
  stop(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions): Promise<TestRegistry> {
  const { name, netns, port, workDir } = options;
  mkdirSync(workDir, { recursive: true });
  const host = `${options.address ?? "127.0.0.1"}:${port}`;
  const config = [
    "version: 0.1",
    "log:",
    "  level: info",
    "  formatter: text",
    "  accesslog:",
    "    disabled: false",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(options.storage)}`,
    "http:",
    `  addr: ${JSON.stringify(host)}`,
    ...(options.tls ? ["  tls:", `    certificate: ${JSON.stringify(options.tls.cert)}`, `    key: ${JSON.stringify(options.tls.key)}`] : []),
    ...(options.htpasswd ? ["auth:", "  htpasswd:", "    realm: kubeplug-test", `    path: ${JSON.stringify(options.htpasswd)}`] : []),
    "",
  ].join("\n");
  const configPath = join(workDir, `${name}.yml`);
  writeFileSync(configPath, config);
  const logPath = join(workDir, `${name}.log`);
  const log = openSync(logPath, "a");
  // nsenter execs, so the PID is docker-registry's own.
  const child = spawn("nsenter", [`--net=${netns}`, "--", "docker-registry", "serve", configPath], { stdio: ["ignore", log, log] });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start docker-registry ${name}`);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => { exited = true; resolve(); }));
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    await Promise.race([exit, new Promise((r) => setTimeout(r, 5000))]);
    if (!exited) child.kill("SIGKILL");
    await exit;
    await waitGone([pid], 5000);
  };
  const read = () => readFileSync(logPath, "utf8");
  const scheme = options.tls ? "https" : "http";
  const registry: TestRegistry = {
    name,
    url: `${scheme}://${host}`,
    host,
    pid,
    logPath,
    mark: () => Buffer.byteLength(read()),
    requests: (from = 0) => Buffer.from(read()).subarray(from).toString("utf8").split("\n").flatMap((line) => {
      const m = ACCESS_LINE.exec(line);
      return m ? [{ remote: m[1]!, method: m[2]!, uri: m[3]!, status: Number(m[4]), userAgent: m[5]! }] : [];
    }),
    stop,
  };
  // Ready once the API root answers: 200, or 401 where auth is on. curl -k: the point here is only "listening".
  const until = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`docker-registry ${name} exited during start-up:\n${read()}`);
    try {
      const code = inNetns(netns, ["curl", "-ks", "-o", "/dev/null", "-w", "%{http_code}", `${registry.url}/v2/`]);
      if (code === "200" || code === "401") return registry;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      await stop();
      throw new Error(`docker-registry ${name} not ready after ${START_TIMEOUT_MS} ms:\n${read()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * OCI layouts of one image per name under `dir`: the same layers, and a config that differs by a label
 * (`org.kubeplug.test.name`), so each has its own config blob and manifest. A client that already holds one
 * must still GET the manifest and config of the next: a registry's log then shows every pull, not only the first.
 * Returns the skopeo source (`oci:<layout>:<name>`) per name.
 */
export function distinctImages(archive: string, dir: string, names: readonly string[]): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const layout = join(dir, "layout");
  execFileSync("skopeo", ["copy", "--quiet", `oci-archive:${archive}`, `oci:${layout}:base`], { stdio: ["ignore", "ignore", "pipe"] });
  return Object.fromEntries(names.map((name) => {
    execFileSync("umoci", ["config", "--image", `${layout}:base`, "--tag", name, "--config.label", `org.kubeplug.test.name=${name}`], { stdio: ["ignore", "ignore", "pipe"] });
    return [name, `oci:${layout}:${name}`];
  }));
}

/** Pushes an image (a skopeo source such as `oci-archive:<file>`) to `registry/ref` with skopeo, with credentials and the CA where given. */
export function pushImage(netns: string, source: string, registry: TestRegistry, ref: string, auth?: { username: string; password: string; certDir?: string }): void {
  const tls = registry.url.startsWith("https://")
    ? (auth?.certDir ? ["--dest-cert-dir", auth.certDir] : ["--dest-tls-verify=false"])
    : ["--dest-tls-verify=false"];
  const creds = auth ? ["--dest-creds", `${auth.username}:${auth.password}`] : [];
  inNetns(netns, ["skopeo", "copy", "--quiet", ...tls, ...creds, source, `docker://${registry.host}/${ref}`]);
}
