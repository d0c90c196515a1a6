/**
 * STAND-IN for a Kubernetes API server, NOT an API server: no kube-apiserver can run on this machine
 * (DESIGN.md §3), so tests that drive the real kubectl (cordon, drain, annotate, readiness, uncordon)
 * point it here. It serves, as JSON, exactly the endpoints kubectl 1.32 uses for those commands
 * (research/runtime-swap.md §3: discovery, nodes, pods by node, evictions refused with 429 while a
 * PodDisruptionBudget allows none, DaemonSets, PDBs, RuntimeClasses) and records every request in
 * order, so a test can check the sequence. Node status comes from the test (`nodeStatus`), e.g. from
 * what a stand-in kubelet reports.
 */
import { writeFileSync } from "node:fs";
import { createServer, IncomingMessage, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";

export interface StandinPod {
  namespace: string;
  name: string;
  nodeName: string;
  labels?: Record<string, string>;
  ownerKind?: "ReplicaSet" | "DaemonSet" | "StatefulSet" | "Node";
  ownerName?: string;
  mirror?: boolean;
  emptyDir?: boolean;
  images?: string[];
  runtimeClassName?: string;
  phase?: string;
}
export interface StandinPdb {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  disruptionsAllowed: number;
}
export interface StandinNode {
  name: string;
  unschedulable?: boolean;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}
export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  contentType?: string;
  body?: unknown;
  at: number;
}
export interface NodeStatusFacts {
  ready: boolean;
  containerRuntimeVersion: string;
  kubeletVersion?: string;
}
export interface StandinApiOptions {
  host?: string;
  port?: number;
  nodes: StandinNode[];
  pods?: StandinPod[];
  pdbs?: StandinPdb[];
  daemonSets?: { namespace: string; name: string; images?: string[] }[];
  runtimeClasses?: { name: string; handler: string }[];
  /** Called at each read of a node, to fill its status. */
  nodeStatus?: (name: string) => NodeStatusFacts;
}
export interface StandinApiServer {
  url: string;
  requests: RecordedRequest[];
  /** The Node object as the next GET returns it. */
  node(name: string): any; // eslint-disable-line @typescript-eslint/no-explicit-any
  pods(): StandinPod[];
  setPdb(namespace: string, name: string, disruptionsAllowed: number): void;
  writeKubeconfig(path: string): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

const resource = (name: string, kind: string, namespaced: boolean, verbs: string[], group?: { group: string; version: string }) => ({
  name,
  singularName: "",
  namespaced,
  kind,
  verbs,
  ...(group ? group : {}),
});
const API_V1 = {
  kind: "APIResourceList",
  groupVersion: "v1",
  resources: [
    resource("nodes", "Node", false, ["get", "list", "patch", "update", "watch"]),
    resource("pods", "Pod", true, ["get", "list", "delete", "watch"]),
    // kubectl's CheckEvictionSupport looks for pods/eviction and takes its group and version.
    resource("pods/eviction", "Eviction", true, ["create"], { group: "policy", version: "v1" }),
  ],
};
const GROUPS: Record<string, Json> = {
  "apps/v1": { kind: "APIResourceList", groupVersion: "apps/v1", resources: [resource("daemonsets", "DaemonSet", true, ["get", "list"])] },
  "policy/v1": { kind: "APIResourceList", groupVersion: "policy/v1", resources: [resource("poddisruptionbudgets", "PodDisruptionBudget", true, ["get", "list"])] },
  "node.k8s.io/v1": { kind: "APIResourceList", groupVersion: "node.k8s.io/v1", resources: [resource("runtimeclasses", "RuntimeClass", false, ["get", "list"])] },
};
const GROUP_LIST = {
  kind: "APIGroupList",
  apiVersion: "v1",
  groups: Object.keys(GROUPS).map((gv) => {
    const [group, version] = gv.split("/") as [string, string];
    return { name: group, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
  }),
};

function status(code: number, reason: string, message: string, details?: Json): Json {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: code < 300 ? "Success" : "Failure", message, reason, ...(details ? { details } : {}), code };
}

function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** A strategic-merge or merge patch of the fields kubectl sends here: spec.unschedulable and metadata annotations/labels (null deletes). */
function applyPatch(node: StandinNode, patch: Json): void {
  const spec = patch.spec as Json | undefined;
  if (spec && "unschedulable" in spec) node.unschedulable = spec.unschedulable === true;
  const metadata = patch.metadata as Json | undefined;
  for (const field of ["annotations", "labels"] as const) {
    const changes = metadata?.[field] as Record<string, string | null> | undefined;
    if (!changes) continue;
    const current = { ...(node[field] ?? {}) };
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete current[k];
      else current[k] = v;
    }
    node[field] = current;
  }
}

export async function startStandinApiServer(options: StandinApiOptions): Promise<StandinApiServer> {
  const nodes = new Map(options.nodes.map((n) => [n.name, { ...n }]));
  let pods = [...(options.pods ?? [])];
  const pdbs = (options.pdbs ?? []).map((p) => ({ ...p }));
  const requests: RecordedRequest[] = [];
  const uids = new Map<string, string>();
  let resourceVersion = 1;

  const nodeObject = (node: StandinNode): Json => {
    const facts = options.nodeStatus?.(node.name) ?? { ready: true, containerRuntimeVersion: "containerd://1.7.0" };
    return {
      kind: "Node",
      apiVersion: "v1",
      metadata: { name: node.name, uid: `uid-node-${node.name}`, resourceVersion: String(resourceVersion), labels: node.labels ?? {}, annotations: node.annotations ?? {} },
      spec: node.unschedulable ? { unschedulable: true } : {},
      status: {
        conditions: [{ type: "Ready", status: facts.ready ? "True" : "False", reason: facts.ready ? "KubeletReady" : "KubeletNotReady", lastHeartbeatTime: new Date().toISOString() }],
        nodeInfo: { containerRuntimeVersion: facts.containerRuntimeVersion, kubeletVersion: facts.kubeletVersion ?? "v1.35.0", osImage: "Debian GNU/Linux 12 (bookworm)", architecture: "amd64", operatingSystem: "linux" },
      },
    };
  };
  const podObject = (pod: StandinPod): Json => {
    const key = `${pod.namespace}/${pod.name}`;
    if (!uids.has(key)) uids.set(key, `uid-pod-${uids.size + 1}`);
    const owner = pod.ownerKind
      ? [{ apiVersion: pod.ownerKind === "Node" ? "v1" : "apps/v1", kind: pod.ownerKind, name: pod.ownerName ?? pod.name, uid: `uid-owner-${pod.ownerName ?? pod.name}`, controller: true }]
      : undefined;
    return {
      kind: "Pod",
      apiVersion: "v1",
      metadata: {
        name: pod.name,
        namespace: pod.namespace,
        uid: uids.get(key),
        labels: pod.labels ?? {},
        ...(pod.mirror ? { annotations: { "kubernetes.io/config.mirror": "mirror" } } : {}),
        ...(owner ? { ownerReferences: owner } : {}),
      },
      spec: {
        nodeName: pod.nodeName,
        containers: (pod.images ?? ["registry.k8s.io/pause:3.10"]).map((image, i) => ({ name: `c${i}`, image })),
        ...(pod.emptyDir ? { volumes: [{ name: "scratch", emptyDir: {} }] } : {}),
        ...(pod.runtimeClassName ? { runtimeClassName: pod.runtimeClassName } : {}),
      },
      status: { phase: pod.phase ?? "Running" },
    };
  };
  const list = (kind: string, items: Json[]): Json => ({ kind: `${kind}List`, apiVersion: "v1", metadata: { resourceVersion: String(resourceVersion) }, items });

  function route(method: string, path: string, query: URLSearchParams, body: Json | undefined): [number, Json] {
    if (method === "GET" && path === "/api") return [200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] }];
    if (method === "GET" && path === "/apis") return [200, GROUP_LIST];
    if (method === "GET" && path === "/api/v1") return [200, API_V1];
    if (method === "GET" && path === "/version") return [200, { major: "1", minor: "35", gitVersion: "v1.35.0-standin", platform: "linux/amd64" }];
    const group = /^\/apis\/([^/]+\/[^/]+)$/.exec(path);
    if (method === "GET" && group && GROUPS[group[1]!]) return [200, GROUPS[group[1]!]!];

    const nodeMatch = /^\/api\/v1\/nodes(?:\/([^/]+))?$/.exec(path);
    if (nodeMatch) {
      if (!nodeMatch[1]) return [200, list("Node", [...nodes.values()].map(nodeObject))];
      const node = nodes.get(nodeMatch[1]);
      if (!node) return [404, status(404, "NotFound", `nodes "${nodeMatch[1]}" not found`, { name: nodeMatch[1], kind: "nodes" })];
      if (method === "PATCH") {
        applyPatch(node, body ?? {});
        resourceVersion++;
      }
      return [200, nodeObject(node)];
    }

    const podsMatch = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/pods(?:\/([^/]+))?(\/eviction)?$/.exec(path);
    if (podsMatch) {
      const [, namespace, name, eviction] = podsMatch;
      if (!name) {
        const selector = query.get("fieldSelector") ?? "";
        const nodeName = /spec\.nodeName=([^,]+)/.exec(selector)?.[1];
        return [200, list("Pod", pods.filter((p) => (!namespace || p.namespace === namespace) && (!nodeName || p.nodeName === nodeName)).map(podObject))];
      }
      const pod = pods.find((p) => p.namespace === namespace && p.name === name);
      if (!pod) return [404, status(404, "NotFound", `pods "${name}" not found`, { name, kind: "pods" })];
      if (eviction && method === "POST") {
        const guarding = pdbs.filter((b) => b.namespace === pod.namespace && selects(b.selector, pod.labels));
        if (guarding.some((b) => b.disruptionsAllowed <= 0)) {
          return [429, status(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.", { causes: [{ reason: "DisruptionBudget", message: `The disruption budget ${guarding[0]!.name} needs 1 healthy pods and has 1 currently` }] })];
        }
        for (const b of guarding) b.disruptionsAllowed--;
        pods = pods.filter((p) => p !== pod);
        resourceVersion++;
        return [201, status(201, "", "")];
      }
      if (method === "GET") return [200, podObject(pod)];
    }

    const ds = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets\/([^/]+)$/.exec(path);
    if (ds && method === "GET") {
      const found = (options.daemonSets ?? []).find((d) => d.namespace === ds[1] && d.name === ds[2]);
      if (!found) return [404, status(404, "NotFound", `daemonsets.apps "${ds[2]}" not found`)];
      return [200, { kind: "DaemonSet", apiVersion: "apps/v1", metadata: { name: found.name, namespace: found.namespace, uid: `uid-owner-${found.name}` }, spec: { template: { spec: { containers: (found.images ?? []).map((image, i) => ({ name: `c${i}`, image })) } } } }];
    }
    const pdb = /^\/apis\/policy\/v1(?:\/namespaces\/([^/]+))?\/poddisruptionbudgets$/.exec(path);
    if (pdb && method === "GET") {
      return [200, { kind: "PodDisruptionBudgetList", apiVersion: "policy/v1", metadata: {}, items: pdbs.filter((b) => !pdb[1] || b.namespace === pdb[1]).map((b) => ({ metadata: { name: b.name, namespace: b.namespace }, spec: { selector: { matchLabels: b.selector } }, status: { disruptionsAllowed: Math.max(0, b.disruptionsAllowed) } })) }];
    }
    const rc = /^\/apis\/node\.k8s\.io\/v1\/runtimeclasses(?:\/([^/]+))?$/.exec(path);
    if (rc && method === "GET") {
      const classes = (options.runtimeClasses ?? []).map((c) => ({ kind: "RuntimeClass", apiVersion: "node.k8s.io/v1", metadata: { name: c.name }, handler: c.handler }));
      if (!rc[1]) return [200, { kind: "RuntimeClassList", apiVersion: "node.k8s.io/v1", metadata: {}, items: classes }];
      const one = classes.find((c) => c.metadata.name === rc[1]);
      return one ? [200, one] : [404, status(404, "NotFound", `runtimeclasses.node.k8s.io "${rc[1]}" not found`)];
    }
    return [404, status(404, "NotFound", `the stand-in API server does not serve ${method} ${path}`)];
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://standin");
      let body: Json | undefined;
      try {
        body = raw ? (JSON.parse(raw) as Json) : undefined;
      } catch {
        body = { unparsed: raw };
      }
      requests.push({ method: req.method ?? "GET", path: url.pathname, query: url.search.slice(1), ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}), ...(body ? { body } : {}), at: Date.now() });
      const [code, payload] = route(req.method ?? "GET", url.pathname, url.searchParams, body);
      res.writeHead(code, { "Content-Type": "application/json" });
      res.end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}`;
  return {
    url,
    requests,
    node: (name) => nodeObject(nodes.get(name)!),
    pods: () => [...pods],
    setPdb: (namespace, name, disruptionsAllowed) => {
      const found = pdbs.find((b) => b.namespace === namespace && b.name === name);
      if (found) found.disruptionsAllowed = disruptionsAllowed;
    },
    writeKubeconfig: (path) =>
      writeFileSync(
        path,
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters:",
          `- name: standin\n  cluster:\n    server: ${url}`,
          "users:",
          "- name: standin\n  user: {}",
          "contexts:",
          "- name: standin\n  context:\n    cluster: standin\n    user: standin",
          "current-context: standin",
          "",
        ].join("\n"),
        { mode: 0o600 },
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
