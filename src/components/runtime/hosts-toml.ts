import { stringify } from "smol-toml";
import { ContainerdConfig, RegistryHostConfig, RegistryMirror } from "../../config/runtime";
import { RenderedFile } from "../node/files";

type Endpoint = Omit<RegistryMirror, "url" | "capabilities" | "overridePath"> & { readonly overridePath?: boolean };
type Table = Record<string, unknown>;

/**
 * One `hosts.toml` per registry under `config_path`, plus CA files given inline. containerd reads these
 * at every pull, so changing them needs no restart. A hosts.toml containerd cannot parse is only logged
 * and then ignored, which is why the layout follows containerd's parser (remotes/docker/config/hosts.go).
 */
export function hostsTomlFiles(registries: ContainerdConfig["registries"]): RenderedFile[] {
  const files: RenderedFile[] = [];
  for (const name of Object.keys(registries.hosts).sort()) {
    const dir = `${registries.configPath}/${name}`;
    files.push(...hostFiles(dir, registries.hosts[name]!));
  }
  return files;
}

function hostFiles(dir: string, host: RegistryHostConfig): RenderedFile[] {
  const caFiles: RenderedFile[] = [];
  const body: Table = {};
  if (host.server) {
    body.server = host.server.url;
    Object.assign(body, endpointKeys(dir, "server", host.server, caFiles));
  }
  // Always a `host` table, empty when there are no mirrors: containerd 1.6 and 1.7 reject a file
  // without one ("invalid `host` tree") and then ignore its server, CA, skip_verify and headers (seen
  // with ctr 1.6.20 and 1.7.24 against a plain-HTTP registry; 2.1.9 takes either).
  const hosts: Table = {};
  for (const mirror of host.mirrors) {
    const keys: Table = { capabilities: [...mirror.capabilities] };
    if (mirror.overridePath) keys.override_path = true;
    Object.assign(keys, endpointKeys(dir, fileStem(mirror.url), mirror, caFiles));
    hosts[mirror.url] = keys;
  }
  body.host = hosts;
  const toml = "# Managed by kubeplug. Mirrors are tried in the order listed, then the server.\n" + stringify(body);
  return [{ path: `${dir}/hosts.toml`, content: toml, mode: 0o644 }, ...caFiles];
}

function endpointKeys(dir: string, stem: string, endpoint: Endpoint, caFiles: RenderedFile[]): Table {
  const keys: Table = {};
  if (endpoint.ca) {
    keys.ca = endpoint.ca.map((source, i) => {
      if (typeof source === "string") return source;
      const path = `${dir}/${stem}-ca-${i}.crt`;
      caFiles.push({ path, content: source.pem.endsWith("\n") ? source.pem : `${source.pem}\n`, mode: 0o644 });
      return path;
    });
  }
  if (endpoint.client) keys.client = endpoint.client.map((pair) => [pair.cert, pair.key]);
  if (endpoint.skipVerify !== undefined) keys.skip_verify = endpoint.skipVerify;
  if (endpoint.header) keys.header = endpoint.header;
  return keys;
}

function fileStem(url: string): string {
  return new URL(url).host.replace(/[^A-Za-z0-9.-]/g, "_");
}
