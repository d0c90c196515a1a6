/**
 * A STAND-IN for the Kubernetes API server, for tests only. It is NOT an API server: no etcd, no admission, no
 * controllers, no auth, no protobuf, no real watch cache, no server-side apply. It answers, in JSON, exactly the
 * requests the real `kubectl` (1.32) sends for cordon, drain, uncordon, annotate, `get` of nodes/pods/runtimeclasses
 * and `wait` on a node, as observed with `-v=8` (docs in /work/shared/research/runtime-swap.md §3–4), with the
 * semantics kubectl depends on: a PodDisruptionBudget that allows no disruption answers an eviction with 429,
 * an evicted pod is then gone (404), mirror pods carry their annotation, DaemonSets can be looked up.
 *
 * Why it exists: kubeplug's runtime swap drives kubectl, and no API server runs on this machine (nor in CI).
 * This lets tests run the real kubectl binary and check the exact requests it makes. Anything it does not know
 * is answered 404 and recorded, so a test sees what kubectl asked for. Patches are applied as JSON merge patches
 * (RFC 7386) for both merge and strategic-merge content types: right for the scalar and map fields kubectl
 * cordon/annotate touch, wrong for lists with merge keys (e.g. taints), which a strategic patch would merge.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";

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
  /** Path without the query string, percent-decoding left as sent. */
  path: string;
  /** Raw query string without `?`; "" when none. */
  query: string;
  contentType?: string;
  /** Parsed JSON when the body is JSON, else the raw text; absent when there is no body. */
  body?: unknown;
  /** Date.now() when the request arrived. */
  at: number;
  /** HTTP status the stand-in answered (200 for a watch). */
  status: number;
}

export interface NodeStatusReport {
  ready: boolean;
  containerRuntimeVersion: string;
  kubeletVersion?: string;
}

export interface StandinApiServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) = any free port. */
  port?: number;
  nodes: StandinNode[];
  pods?: StandinPod[];
  pdbs?: StandinPdb[];
  daemonSets?: { namespace: string; name: string; images?: string[] }[];
  runtimeClasses?: { name: string; handler: string }[];
  /** Called at each GET of a node, to fill status (Ready condition, nodeInfo.containerRuntimeVersion, kubeletVersion). */
  nodeStatus?: (name: string) => NodeStatusReport;
  /**
   * How long an evicted pod stays (with metadata.deletionTimestamp) before it is gone; default 0 = at once.
   * The real kubelet takes a while, which is what makes kubectl poll the pod.
   */
  evictionDeleteDelayMs?: number;
}

export interface StandinApiServer {
  /** `http://host:port`, no trailing slash. */
  url: string;
  /** Every request, in order, discovery included. */
  requests: RecordedRequest[];
  /** Current Node object (JSON), status filled by nodeStatus; throws for an unknown node. */
  node(name: string): any;
  /** Pods still present (evicted ones that are still terminating included). */
  pods(): StandinPod[];
  setPdb(ns: string, name: string, disruptionsAllowed: number): void;
  /** Writes a kubeconfig (no auth, plain http) pointing at url. */
  writeKubeconfig(path: string): void;
  close(): Promise<void>;
}

/** The version the stand-in claims. The kubectl dispatcher on this machine picks its kubectl binary from it. */
export const STANDIN_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.4" };

const DEFAULT_STATUS: NodeStatusReport = { ready: true, containerRuntimeVersion: "containerd://2.1.1", kubeletVersion: "v1.32.4" };
const CREATED = "2025-01-01T00:00:00Z";

type Json = Record<string, any>;
type Reply = { code: number; body: unknown };

function status(code: number, reason: string, message: string, details?: Json): Reply {
  return { code, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code } };
}

function notFound(resource: string, name: string, group?: string): Reply {
  const what = group ? `${resource}.${group}` : resource;
  return status(404, "NotFound", `${what} "${name}" not found`, { name, ...(group ? { group } : {}), kind: resource });
}

const NO_ROUTE = status(404, "NotFound", "the server could not find the requested resource", {});

function list(kind: string, apiVersion: string, items: unknown[], resourceVersion: string): Json {
  return { kind, apiVersion, metadata: { resourceVersion }, items };
}

/** RFC 7386: null deletes, objects merge, everything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Json = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** `a=b,c==d,e!=f` on the few fields kubectl selects by; an unknown field matches nothing, as a safe default. */
function selectorFilter(expr: string | null, field: (key: string) => string | undefined): boolean {
  if (!expr) return true;
  return expr.split(",").every((term) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(term.trim());
    if (!m) return false;
    const value = field(m[1]!);
    return m[2] === "!=" ? value !== m[3] : value === m[3];
  });
}

export async function startStandinApiServer(options: StandinApiServerOptions): Promise<StandinApiServer> {
  const host = options.host ?? "127.0.0.1";
  let revision = 1;
  const bump = () => String(++revision);

  const nodes = new Map<string, Json>();
  for (const n of options.nodes) {
    nodes.set(n.name, {
      metadata: { name: n.name, uid: randomUUID(), creationTimestamp: CREATED, labels: { "kubernetes.io/hostname": n.name, ...n.labels }, ...(n.annotations ? { annotations: { ...n.annotations } } : {}) },
      spec: n.unschedulable ? { unschedulable: true } : {},
    });
  }
  type PodState = { pod: StandinPod; uid: string; deletionTimestamp?: string };
  const pods: PodState[] = (options.pods ?? []).map((pod) => ({ pod: { ...pod }, uid: randomUUID() }));
  const pdbs = (options.pdbs ?? []).map((p) => ({ ...p }));
  const daemonSets = options.daemonSets ?? [];
  const runtimeClasses = options.runtimeClasses ?? [];
  const timers = new Set<NodeJS.Timeout>();
  const requests: RecordedRequest[] = [];

  const nodeJson = (name: string): Json => {
    const stored = nodes.get(name)!;
    const s = { ...DEFAULT_STATUS, ...options.nodeStatus?.(name) };
    return {
      kind: "Node",
      apiVersion: "v1",
      metadata: { ...stored.metadata, resourceVersion: String(revision) },
      spec: stored.spec,
      status: {
        conditions: [{ type: "Ready", status: s.ready ? "True" : "False", reason: s.ready ? "KubeletReady" : "KubeletNotReady", lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: CREATED }],
        nodeInfo: { containerRuntimeVersion: s.containerRuntimeVersion, kubeletVersion: s.kubeletVersion ?? DEFAULT_STATUS.kubeletVersion, operatingSystem: "linux", architecture: "amd64" },
      },
    };
  };

  const podJson = ({ pod, uid, deletionTimestamp }: PodState): Json => {
    const owner = pod.ownerKind
      ? [{ apiVersion: pod.ownerKind === "Node" ? "v1" : "apps/v1", kind: pod.ownerKind, name: pod.ownerName ?? (pod.ownerKind === "Node" ? pod.nodeName : pod.name.replace(/-[^-]+$/, "")), uid: randomUUID(), controller: true, blockOwnerDeletion: true }]
      : undefined;
    const annotations = pod.mirror ? { "kubernetes.io/config.mirror": uid, "kubernetes.io/config.source": "file" } : undefined;
    return {
      kind: "Pod",
      apiVersion: "v1",
      metadata: {
        name: pod.name, namespace: pod.namespace, uid, resourceVersion: String(revision), creationTimestamp: CREATED,
        ...(pod.labels ? { labels: pod.labels } : {}), ...(annotations ? { annotations } : {}), ...(owner ? { ownerReferences: owner } : {}),
        ...(deletionTimestamp ? { deletionTimestamp, deletionGracePeriodSeconds: 30 } : {}),
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

  const pdbJson = (p: StandinPdb): Json => {
    const healthy = pods.filter((s) => s.pod.namespace === p.namespace && matches(p.selector, s.pod.labels)).length;
    return {
      kind: "PodDisruptionBudget", apiVersion: "policy/v1",
      metadata: { name: p.name, namespace: p.namespace, uid: randomUUID(), resourceVersion: String(revision), creationTimestamp: CREATED },
      spec: { selector: { matchLabels: p.selector } },
      status: { disruptionsAllowed: p.disruptionsAllowed, currentHealthy: healthy, desiredHealthy: Math.max(0, healthy - p.disruptionsAllowed), expectedPods: healthy, observedGeneration: 1 },
    };
  };

  const evict = (ns: string, name: string): Reply => {
    const state = pods.find((s) => s.pod.namespace === ns && s.pod.name === name);
    if (!state) return notFound("pods", name);
    // A pod already terminating is accepted again without touching budgets, as the real eviction does.
    if (state.deletionTimestamp) return { code: 201, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } };
    const covering = pdbs.filter((p) => p.namespace === ns && matches(p.selector, state.pod.labels));
    if (covering.length > 1) return status(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
    const pdb = covering[0];
    if (pdb && pdb.disruptionsAllowed <= 0) {
      const j = pdbJson(pdb).status;
      return status(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.", {
        causes: [{ reason: "DisruptionBudget", message: `The disruption budget ${pdb.name} needs ${j.desiredHealthy} healthy pods and has ${j.currentHealthy} currently` }],
      });
    }
    if (pdb) pdb.disruptionsAllowed -= 1;
    bump();
    const remove = () => {
      const i = pods.indexOf(state);
      if (i >= 0) pods.splice(i, 1);
      bump();
    };
    const delay = options.evictionDeleteDelayMs ?? 0;
    if (delay <= 0) remove();
    else {
      state.deletionTimestamp = new Date().toISOString();
      const t = setTimeout(() => { timers.delete(t); remove(); }, delay);
      timers.add(t);
    }
    return { code: 201, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } };
  };

  const podField = (s: PodState) => (key: string) =>
    ({ "spec.nodeName": s.pod.nodeName, "metadata.name": s.pod.name, "metadata.namespace": s.pod.namespace, "status.phase": s.pod.phase ?? "Running" })[key];
  const podLabel = (s: PodState) => (key: string) => s.pod.labels?.[key];

  const selectedPods = (ns: string | undefined, q: URLSearchParams) =>
    pods.filter((s) => (ns === undefined || s.pod.namespace === ns) && selectorFilter(q.get("fieldSelector"), podField(s)) && selectorFilter(q.get("labelSelector"), podLabel(s)));

  const selectedNodes = (q: URLSearchParams) =>
    [...nodes.keys()].filter((n) => selectorFilter(q.get("fieldSelector"), (k) => (k === "metadata.name" ? n : undefined)) && selectorFilter(q.get("labelSelector"), (k) => nodes.get(n)!.metadata.labels?.[k]))
      .map(nodeJson);

  const resource = (name: string, kind: string, namespaced: boolean, verbs: string[], extra: Json = {}) => ({ name, singularName: name.includes("/") ? "" : kind.toLowerCase(), namespaced, kind, verbs, ...extra });
  const READ = ["get", "list", "watch"];
  const discovery: Record<string, Json> = {
    "/api": { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "" }] },
    "/apis": {
      kind: "APIGroupList", apiVersion: "v1",
      groups: ["apps", "policy", "node.k8s.io"].map((g) => ({ name: g, versions: [{ groupVersion: `${g}/v1`, version: "v1" }], preferredVersion: { groupVersion: `${g}/v1`, version: "v1" } })),
    },
    "/api/v1": {
      kind: "APIResourceList", groupVersion: "v1",
      resources: [
        resource("nodes", "Node", false, [...READ, "patch", "update"], { shortNames: ["no"] }),
        resource("nodes/status", "Node", false, ["get", "patch", "update"]),
        resource("pods", "Pod", true, [...READ, "delete"], { shortNames: ["po"], categories: ["all"] }),
        // kubectl's CheckEvictionSupport reads group/version from this entry to choose policy/v1.
        resource("pods/eviction", "Eviction", true, ["create"], { group: "policy", version: "v1" }),
      ],
    },
    "/apis/apps/v1": { kind: "APIResourceList", apiVersion: "v1", groupVersion: "apps/v1", resources: [resource("daemonsets", "DaemonSet", true, READ, { shortNames: ["ds"], categories: ["all"] })] },
    "/apis/policy/v1": { kind: "APIResourceList", apiVersion: "v1", groupVersion: "policy/v1", resources: [resource("poddisruptionbudgets", "PodDisruptionBudget", true, READ, { shortNames: ["pdb"] })] },
    "/apis/node.k8s.io/v1": { kind: "APIResourceList", apiVersion: "v1", groupVersion: "node.k8s.io/v1", resources: [resource("runtimeclasses", "RuntimeClass", false, READ)] },
    "/version": { ...STANDIN_VERSION, gitCommit: "standin", gitTreeState: "clean", buildDate: CREATED, goVersion: "go1.23", compiler: "gc", platform: "linux/amd64" },
  };

  const route = (method: string, path: string, q: URLSearchParams, body: unknown): Reply | { watch: () => Json[] } => {
    if (method === "GET" && discovery[path]) return { code: 200, body: discovery[path] };
    const seg = path.split("/").filter(Boolean).map(decodeURIComponent);
    const watch = q.get("watch") === "true" || q.get("watch") === "1";

    if (seg[0] === "api" && seg[1] === "v1") {
      const [, , a, b, c, d, e] = seg;
      if (a === "nodes" && b === undefined && method === "GET") return watch ? { watch: () => selectedNodes(q) } : { code: 200, body: list("NodeList", "v1", selectedNodes(q), String(revision)) };
      if (a === "nodes" && b !== undefined && c === undefined) {
        const stored = nodes.get(b);
        if (!stored) return notFound("nodes", b);
        if (method === "GET") return { code: 200, body: nodeJson(b) };
        if (method === "PATCH") {
          const patched = mergePatch({ metadata: stored.metadata, spec: stored.spec }, body) as Json;
          // Only what a client may change through the main resource is kept; name and uid are the server's.
          stored.metadata = { ...stored.metadata, labels: patched.metadata?.labels, annotations: patched.metadata?.annotations };
          if (stored.metadata.annotations === undefined) delete stored.metadata.annotations;
          if (stored.metadata.labels === undefined) delete stored.metadata.labels;
          stored.spec = patched.spec ?? {};
          bump();
          return { code: 200, body: nodeJson(b) };
        }
      }
      if (a === "pods" && b === undefined && method === "GET") return watch ? { watch: () => selectedPods(undefined, q).map(podJson) } : { code: 200, body: list("PodList", "v1", selectedPods(undefined, q).map(podJson), String(revision)) };
      if (a === "namespaces" && b !== undefined && c === "pods") {
        if (d === undefined && method === "GET") return watch ? { watch: () => selectedPods(b, q).map(podJson) } : { code: 200, body: list("PodList", "v1", selectedPods(b, q).map(podJson), String(revision)) };
        if (d !== undefined && e === undefined && method === "GET") {
          const s = pods.find((p) => p.pod.namespace === b && p.pod.name === d);
          return s ? { code: 200, body: podJson(s) } : notFound("pods", d);
        }
        if (d !== undefined && e === "eviction" && method === "POST") return evict(b, d);
      }
    }
    if (seg[0] === "apis" && method === "GET") {
      const gv = `${seg[1]}/${seg[2]}`;
      const [ns, kind, name] = seg[3] === "namespaces" ? [seg[4], seg[5], seg[6]] : [undefined, seg[3], seg[4]];
      if (gv === "apps/v1" && kind === "daemonsets" && ns !== undefined && name !== undefined) {
        const ds = daemonSets.find((d) => d.namespace === ns && d.name === name);
        if (!ds) return notFound("daemonsets", name, "apps");
        return { code: 200, body: {
          kind: "DaemonSet", apiVersion: "apps/v1", metadata: { name, namespace: ns, uid: randomUUID(), resourceVersion: String(revision), creationTimestamp: CREATED },
          spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: (ds.images ?? ["registry.k8s.io/pause:3.10"]).map((image, i) => ({ name: `c${i}`, image })) } } },
        } };
      }
      if (gv === "policy/v1" && kind === "poddisruptionbudgets") {
        const items = pdbs.filter((p) => ns === undefined || p.namespace === ns);
        if (name === undefined) return { code: 200, body: list("PodDisruptionBudgetList", "policy/v1", items.map(pdbJson), String(revision)) };
        const p = items.find((x) => x.name === name);
        return p ? { code: 200, body: pdbJson(p) } : notFound("poddisruptionbudgets", name, "policy");
      }
      if (gv === "node.k8s.io/v1" && kind === "runtimeclasses" && ns === undefined) {
        const rc = (r: { name: string; handler: string }) => ({ kind: "RuntimeClass", apiVersion: "node.k8s.io/v1", metadata: { name: r.name, uid: randomUUID(), resourceVersion: String(revision), creationTimestamp: CREATED }, handler: r.handler });
        if (name === undefined) return { code: 200, body: list("RuntimeClassList", "node.k8s.io/v1", runtimeClasses.map(rc), String(revision)) };
        const r = runtimeClasses.find((x) => x.name === name);
        return r ? { code: 200, body: rc(r) } : notFound("runtimeclasses", name, "node.k8s.io");
      }
    }
    return NO_ROUTE;
  };

  // A watch here is a poll: every 200 ms the selected objects are rendered again and any difference is sent as an
  // event. Enough for `kubectl wait` to see a node turn Ready when nodeStatus changes its answer.
  const serveWatch = (res: http.ServerResponse, snapshot: () => Json[], timeoutSeconds: number) => {
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    // Node holds headers back until the first write; a watch with nothing to report must still be answered.
    res.flushHeaders();
    const key = (o: Json) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    const comparable = (o: Json) => JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: "" }, status: { ...o.status, conditions: o.status?.conditions?.map((c: Json) => ({ ...c, lastHeartbeatTime: "" })) } });
    let seen = new Map(snapshot().map((o) => [key(o), comparable(o)]));
    const tick = setInterval(() => {
      const now = snapshot();
      const next = new Map(now.map((o) => [key(o), comparable(o)]));
      for (const o of now) {
        const before = seen.get(key(o));
        if (before !== next.get(key(o))) res.write(JSON.stringify({ type: before === undefined ? "ADDED" : "MODIFIED", object: { ...o, metadata: { ...o.metadata, resourceVersion: bump() } } }) + "\n");
      }
      for (const k of seen.keys()) if (!next.has(k)) res.write(JSON.stringify({ type: "DELETED", object: { metadata: { name: k.split("/")[1], namespace: k.split("/")[0] || undefined, resourceVersion: bump() } } }) + "\n");
      seen = next;
    }, 200);
    const end = () => { clearInterval(tick); clearTimeout(limit); timers.delete(limit); if (!res.writableEnded) res.end(); };
    const limit = setTimeout(end, Math.max(1, timeoutSeconds) * 1000);
    timers.add(limit);
    res.on("close", end);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://standin");
      const raw = Buffer.concat(chunks).toString("utf8");
      const contentType = req.headers["content-type"];
      let body: unknown = raw === "" ? undefined : raw;
      if (raw !== "" && contentType?.includes("json")) {
        try { body = JSON.parse(raw); } catch { /* kept as text, and the route sees it as such */ }
      }
      const at = Date.now();
      const reply = route(req.method ?? "GET", url.pathname, url.searchParams, body);
      const code = "watch" in reply ? 200 : reply.code;
      requests.push({ method: req.method ?? "GET", path: url.pathname, query: url.search.replace(/^\?/, ""), ...(contentType ? { contentType } : {}), ...(body !== undefined ? { body } : {}), at, status: code });
      if ("watch" in reply) return serveWatch(res, reply.watch, Number(url.searchParams.get("timeoutSeconds") ?? 300));
      const text = JSON.stringify(reply.body);
      res.writeHead(reply.code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    url,
    requests,
    node(name) {
      if (!nodes.has(name)) throw new Error(`stand-in has no node ${name}`);
      return nodeJson(name);
    },
    pods: () => pods.map((s) => ({ ...s.pod })),
    setPdb(ns, name, disruptionsAllowed) {
      const p = pdbs.find((x) => x.namespace === ns && x.name === name);
      if (!p) throw new Error(`stand-in has no PodDisruptionBudget ${ns}/${name}`);
      p.disruptionsAllowed = disruptionsAllowed;
      bump();
    },
    writeKubeconfig(path) {
      writeFileSync(path, [
        "apiVersion: v1", "kind: Config", "preferences: {}", "current-context: standin",
        "clusters:", "- name: standin", "  cluster:", `    server: ${url}`,
        "contexts:", "- name: standin", "  context:", "    cluster: standin", "    user: standin", "    namespace: default",
        "users:", "- name: standin", "  user: {}", "",
      ].join("\n"));
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
