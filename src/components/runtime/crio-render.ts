import { stringify } from "smol-toml";
import { CrioConfig, CrioRegistryConfig } from "../../config/crio";
import { SecretRef } from "../../config/secrets";
import { hashParts } from "../../util/hash";
import { RenderedFile } from "../node/files";
import { crioHandlerTable } from "./oci-runtimes";
import { TomlTable } from "../../util/toml";
import { unitLimitsDropIn } from "./unit-limits";
import { poolCdi } from "../../config/runtime-common";

export interface CrioContext {
  readonly pool: string;
  readonly cgroupDriver: "systemd" | "cgroupfs";
  readonly cni: { readonly binDir: string; readonly confDir: string };
}

/** A registry credential, keyed by the registry name CRI-O looks it up under (auth.json `auths`). */
export interface CrioCredential {
  readonly registry: string;
  readonly username: string;
  readonly password: SecretRef;
}

export interface RenderedCrio {
  /** The drop-in kubeplug owns in /etc/crio/crio.conf.d. */
  readonly dropIn: RenderedFile;
  readonly registriesConf: RenderedFile;
  readonly crictlYaml: RenderedFile;
  /** The unit drop-in with the stack's serviceLimits, when it sets any. */
  readonly unitLimits?: RenderedFile;
  readonly credentials: readonly CrioCredential[];
  readonly runtimeEndpoint: string;
  readonly configHash: string;
}

export const CRIO_DROP_IN = "/etc/crio/crio.conf.d/50-kubeplug.conf";
export const CRIO_REGISTRIES = "/etc/containers/registries.conf.d/50-kubeplug.conf";
export const CRIO_AUTH_FILE = "/etc/containers/auth.json";
export const CRICTL_YAML = "/etc/crictl.yaml";
export const CRIO_SOCKET = "/var/run/crio/crio.sock";

/**
 * The drop-in sorts after the bundle's own 10-crio.conf. CRI-O replaces a whole runtime handler table
 * per file, so every handler kubeplug declares is complete here, conmon path included.
 */
export function renderCrio(config: CrioConfig, context: CrioContext): RenderedCrio {
  const credentials = crioCredentials(config.registries.hosts);
  const runtimes: TomlTable = {};
  for (const name of Object.keys(config.runtimes).sort()) runtimes[name] = crioHandlerTable(config.runtimes[name]!);

  const runtime: TomlTable = {
    cgroup_manager: context.cgroupDriver,
    // "pod" is valid under both cgroup managers and keeps conmon accounted to the pod.
    conmon_cgroup: "pod",
    default_runtime: config.defaultRuntime,
  };
  if (config.logSizeMax !== undefined) runtime.log_size_max = config.logSizeMax;
  if (config.logLevel) runtime.log_level = config.logLevel;
  if (config.deviceOwnershipFromSecurityContext !== undefined) runtime.device_ownership_from_security_context = config.deviceOwnershipFromSecurityContext;
  // CRI-O always injects CDI devices; it only needs to know where the specs are (crio.runtime.cdi_spec_dirs, from 1.24).
  const cdi = poolCdi(config);
  if (cdi) runtime.cdi_spec_dirs = [...cdi.specDirs];
  const sysctls = defaultSysctls(config);
  if (sysctls.length > 0) runtime.default_sysctls = sysctls;
  runtime.runtimes = runtimes;
  const image: TomlTable = { pause_image: config.sandboxImage };
  if (credentials.length > 0) image.global_auth_file = CRIO_AUTH_FILE;

  const tree = {
    crio: {
      storage_driver: config.storageDriver,
      runtime,
      image,
      network: { network_dir: context.cni.confDir, plugin_dirs: [context.cni.binDir] },
      ...(config.metricsAddress ? { metrics: metricsTable(config.metricsAddress) } : {}),
    },
  };
  const dropIn: RenderedFile = {
    path: CRIO_DROP_IN,
    content: `# Managed by kubeplug: pool ${context.pool}, CRI-O ${config.version}. Files sorting after this one override it.\n${stringify(tree)}`,
    mode: 0o644,
  };
  const registriesConf: RenderedFile = { path: CRIO_REGISTRIES, content: registriesConfText(config.registries), mode: 0o644 };
  const crictlYaml: RenderedFile = {
    path: CRICTL_YAML,
    content: `# Managed by kubeplug.\nruntime-endpoint: unix://${CRIO_SOCKET}\nimage-endpoint: unix://${CRIO_SOCKET}\ntimeout: 10\n`,
    mode: 0o644,
  };
  const unitLimits = unitLimitsDropIn("crio", config.serviceLimits);
  const configHash = hashParts([
    ...[dropIn, registriesConf, crictlYaml, ...(unitLimits ? [unitLimits] : [])].map((f) => [f.path, f.content] as const),
    ...credentials.map((c) => [`auth:${c.registry}`, `${c.username}:${JSON.stringify(c.password)}`] as const),
  ]);
  return { dropIn, registriesConf, crictlYaml, ...(unitLimits ? { unitLimits } : {}), credentials, runtimeEndpoint: `unix://${CRIO_SOCKET}`, configHash };
}

/**
 * CRI-O has no switch for unprivileged ports or ICMP; containerd's switches set these two pod sysctls
 * (internal/cri/server/podsandbox/sandbox_run_linux.go at v2.1.4), so CRI-O gets them as default sysctls. Both are namespaced.
 */
function defaultSysctls(config: CrioConfig): string[] {
  const sysctls: string[] = [];
  if (config.unprivilegedPorts) sysctls.push("net.ipv4.ip_unprivileged_port_start=0");
  if (config.unprivilegedIcmp) sysctls.push("net.ipv4.ping_group_range=0 2147483647");
  return sysctls;
}

function metricsTable(address: string): TomlTable {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { enable_metrics: true, metrics_host: host, metrics_port: Number(address.slice(colon + 1)) };
}

/** registries.conf v2 (containers-registries.conf.d(5)): one [[registry]] per host, mirrors in order. */
function registriesConfText(registries: CrioConfig["registries"]): string {
  const body: TomlTable = {};
  if (registries.unqualifiedSearch) body["unqualified-search-registries"] = [...registries.unqualifiedSearch];
  const entries = Object.keys(registries.hosts)
    .sort()
    .map((prefix) => registryEntry(prefix, registries.hosts[prefix]!));
  if (entries.length > 0) body.registry = entries;
  return `# Managed by kubeplug. CRI-O re-reads this on reload (SIGHUP); no restart needed.\n${stringify(body)}`;
}

function registryEntry(prefix: string, registry: CrioRegistryConfig): TomlTable {
  const entry: TomlTable = { prefix, location: registry.server ? location(registry.server.url) : prefix };
  if (registry.server && (registry.server.insecure || registry.server.url.startsWith("http:"))) entry.insecure = true;
  if (registry.blocked) entry.blocked = true;
  if (registry.mirrors.length > 0) {
    entry.mirror = registry.mirrors.map((m) => {
      const mirror: TomlTable = { location: location(m.url) };
      if (m.insecure || m.url.startsWith("http:")) mirror.insecure = true;
      mirror["pull-from-mirror"] = m.pullFromMirror;
      return mirror;
    });
  }
  return entry;
}

/** registries.conf locations have no scheme: host[:port][/path]. */
function location(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname.replace(/\/+$/, "")}`;
}

function crioCredentials(hosts: Readonly<Record<string, CrioRegistryConfig>>): CrioCredential[] {
  return Object.keys(hosts)
    .sort()
    .flatMap((registry) => {
      const auth = hosts[registry]!.auth;
      return auth ? [{ registry, username: auth.username, password: auth.password }] : [];
    });
}

/** The auth.json the configure step writes (0600) from stdin. */
export function renderCrioAuthJson(credentials: readonly { registry: string; username: string; password: string }[]): string {
  const auths: Record<string, { auth: string }> = {};
  for (const c of credentials) auths[c.registry] = { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") };
  return `${JSON.stringify({ auths }, null, 2)}\n`;
}
