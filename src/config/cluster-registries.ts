import { containerdFeatures } from "../catalog/containerd-features";
import { ClusterConfig, PoolConfig } from "./cluster";
import { CrioRegistryConfig } from "./crio";
import { Locator } from "./findings";
import { RegistryHostConfig, RegistryMirror } from "./runtime";
import { checkRegistryHosts } from "./runtime-checks";

/**
 * kubeplug:cluster.registries is written once and inherited by every pool. Its own checks run here,
 * once, at the cluster path: a warning about an inherited host would otherwise print once per pool.
 */
export function checkClusterRegistries(cluster: ClusterConfig, at: Locator): void {
  const inherited = cluster.registries.hosts;
  const here = at.child("registries");
  for (const [host, entry] of Object.entries(inherited)) {
    const lines = cluster.pools.flatMap((pool) => {
      const features = pool.runtime.kind === "containerd" && !(host in pool.runtime.registries.overrides) ? containerdFeatures(pool.runtime.version) : undefined;
      return features ? [features] : [];
    });
    checkRegistryHosts({ [host]: entry }, here, lines);
  }
  cluster.pools.forEach((pool, i) => {
    const registries = at.child("pools", i, "runtime", "registries");
    for (const host of Object.keys(pool.runtime.registries.hosts)) {
      if (host in inherited) {
        registries.child("hosts", host).problem(
          `${host} is inherited from kubeplug:cluster.registries.hosts; to replace the cluster's entry for this pool, move it to registries.overrides`,
        );
      }
    }
    for (const host of Object.keys(pool.runtime.registries.overrides)) {
      if (!(host in inherited)) {
        const names = Object.keys(inherited);
        registries.child("overrides", host).problem(
          `${host} is not in kubeplug:cluster.registries.hosts (${names.length > 0 ? `inherited: ${names.join(", ")}` : "which is empty"}), so there is nothing to override; add it under registries.hosts`,
        );
      }
    }
    if (pool.runtime.kind === "crio") {
      for (const [host, entry] of Object.entries(inherited)) {
        if (host in pool.runtime.registries.overrides) continue;
        for (const { field, reason } of crioGaps(host, entry)) {
          here.child("hosts", host, ...field).problem(
            `pool "${pool.name}" runs CRI-O, which cannot take this: ${reason}; give ${host} a CRI-O entry in pools[${i}].runtime.registries.overrides`,
          );
        }
      }
    }
  });
}

/** Every pool's runtime with the cluster's registry hosts folded into its own. */
export function inheritRegistries(cluster: ClusterConfig): ClusterConfig {
  const inherited = cluster.registries.hosts;
  if (Object.keys(inherited).length === 0) return cluster;
  return { ...cluster, pools: cluster.pools.map((pool) => withInheritedHosts(pool, inherited)) };
}

function withInheritedHosts(pool: PoolConfig, inherited: Readonly<Record<string, RegistryHostConfig>>): PoolConfig {
  const runtime = pool.runtime;
  // Overrides are folded into hosts, so renderers and components read one map.
  switch (runtime.kind) {
    case "containerd":
      return { ...pool, runtime: { ...runtime, registries: { ...runtime.registries, hosts: { ...runtime.registries.hosts, ...inherited, ...runtime.registries.overrides }, overrides: {} } } };
    case "crio": {
      const translated = Object.fromEntries(Object.entries(inherited).map(([host, entry]) => [host, crioRegistry(entry)]));
      return { ...pool, runtime: { ...runtime, registries: { ...runtime.registries, hosts: { ...runtime.registries.hosts, ...translated, ...runtime.registries.overrides }, overrides: {} } } };
    }
    default: {
      const never: never = runtime;
      throw new Error(`unhandled runtime kind ${JSON.stringify(never)}`);
    }
  }
}

interface Gap {
  readonly field: PropertyKey[];
  readonly reason: string;
}

const DEFAULT_CAPABILITIES = ["pull", "resolve"];

/** What of a containerd host entry registries.conf has no place for. */
function crioGaps(host: string, entry: RegistryHostConfig): Gap[] {
  const gaps: Gap[] = [];
  if (host === "_default") gaps.push({ field: [], reason: "registries.conf has no entry for every host (_default)" });
  const endpoint = (field: PropertyKey[], e: Pick<RegistryMirror, "ca" | "client" | "header">): void => {
    if (e.ca) gaps.push({ field: [...field, "ca"], reason: "CRI-O reads CAs from /etc/containers/certs.d, not from its registry entry" });
    if (e.client) gaps.push({ field: [...field, "client"], reason: "CRI-O reads client certificates from /etc/containers/certs.d" });
    if (e.header) gaps.push({ field: [...field, "header"], reason: "registries.conf has no request headers" });
  };
  if (entry.server) endpoint(["server"], entry.server);
  entry.mirrors.forEach((mirror, i) => {
    const field = ["mirrors", i];
    endpoint(field, mirror);
    if (mirror.overridePath) gaps.push({ field: [...field, "overridePath"], reason: "registries.conf locations always take /v2 below them" });
    if (mirror.auth) gaps.push({ field: [...field, "auth"], reason: "CRI-O looks credentials up by registry, not by mirror" });
    if ([...mirror.capabilities].sort().join() !== DEFAULT_CAPABILITIES.join()) {
      gaps.push({ field: [...field, "capabilities"], reason: `CRI-O mirrors serve pulls and tag resolution together, not ${JSON.stringify(mirror.capabilities)}` });
    }
  });
  return gaps;
}

/** The portable part of a containerd host entry, as CRI-O's registry entry; crioGaps names the rest. */
function crioRegistry(entry: RegistryHostConfig): CrioRegistryConfig {
  return {
    ...(entry.server ? { server: { url: entry.server.url, ...(entry.server.skipVerify ? { insecure: true } : {}) } } : {}),
    mirrors: entry.mirrors.map((m) => ({ url: m.url, ...(m.skipVerify ? { insecure: true } : {}), pullFromMirror: "all" as const })),
    ...(entry.server?.auth ? { auth: entry.server.auth } : {}),
  };
}
