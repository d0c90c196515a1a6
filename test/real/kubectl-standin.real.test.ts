import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RecordedRequest, StandinApiServer, StandinApiServerOptions, startStandinApiServer } from "../support/standin-apiserver";

// The real kubectl against the stand-in API server: the exact requests kubectl 1.32 makes for the runtime swap's
// cordon, drain, annotate, get and wait (research: /work/shared/research/runtime-swap.md §3), so the stand-in can be
// trusted by the procedure's tests and a kubectl that changes its requests is noticed here.
const KUBECTL = "/usr/bin/kubectl";
const skip = existsSync(KUBECTL) ? undefined : `needs ${KUBECTL} (the real kubectl client, 1.32)`;

const NODE = "/api/v1/nodes/node-1";
const CRI_SOCKET = "kubeadm.alpha.kubernetes.io/cri-socket";
const evictionBody = (ns: string, name: string) => ({ kind: "Eviction", apiVersion: "policy/v1", metadata: { name, namespace: ns, creationTimestamp: null }, deleteOptions: {} });

// Research §3.3's fixture: an emptyDir ReplicaSet pod, a PDB-protected pod, a DaemonSet pod and a mirror pod.
function drainFixture(disruptionsAllowed: number): StandinApiServerOptions {
  return {
    nodes: [{ name: "node-1" }],
    pods: [
      { namespace: "default", name: "web-abc", nodeName: "node-1", ownerKind: "ReplicaSet", ownerName: "web", emptyDir: true, labels: { app: "web" } },
      { namespace: "default", name: "pdb-protected-xyz", nodeName: "node-1", ownerKind: "ReplicaSet", ownerName: "pdb-protected", labels: { app: "guarded" } },
      { namespace: "kube-system", name: "kube-proxy-zzz", nodeName: "node-1", ownerKind: "DaemonSet", ownerName: "kube-proxy" },
      { namespace: "kube-system", name: "kube-apiserver-node-1", nodeName: "node-1", ownerKind: "Node", mirror: true },
    ],
    pdbs: [{ namespace: "default", name: "guard", selector: { app: "guarded" }, disruptionsAllowed }],
    daemonSets: [{ namespace: "kube-system", name: "kube-proxy" }],
    // Long enough that kubectl's 1 s poll sees the evicted pod still there at least once.
    evictionDeleteDelayMs: 1500,
  };
}

interface Run { code: number; stdout: string; stderr: string }

let dir: string;
let server: StandinApiServer | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kubectl-standin-"));
});

afterEach(async () => {
  // kubectl asked for nothing the stand-in lacks (no /openapi/v2 or v3 either): the only 404s are evicted pods.
  const unanswered = server?.requests.filter((r) => r.status === 404 && !r.path.startsWith("/api/v1/namespaces/default/pods/")) ?? [];
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
  expect(unanswered.map((r) => `${r.method} ${r.path}`)).toEqual([]);
});

async function start(options: StandinApiServerOptions): Promise<StandinApiServer> {
  server = await startStandinApiServer(options);
  server.writeKubeconfig(join(dir, "kubeconfig"));
  return server;
}

/** The kubeconfig and discovery cache are this test's own, and HOME too, so nothing from ~/.kube is read. */
function kubectl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ["--kubeconfig", join(dir, "kubeconfig"), "--cache-dir", join(dir, "cache"), ...args], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Discovery is left out: kubectl caches it under --cache-dir, so whether it is sent depends on the cache, not on
 * the command (research §3). It is what kubectl's discovery client asks with `?timeout=32s`, plus `GET /version`,
 * which the kubectl dispatcher installed here sends to pick a kubectl binary. CheckEvictionSupport's own
 * `GET /api/v1` (no query) is kept: drain sends it every time.
 */
function isDiscovery(r: RecordedRequest): boolean {
  return r.path === "/version" || /(^|&)timeout=32s(&|$)/.test(r.query);
}

type Call = { method: string; path: string; query?: string; contentType?: string; body?: unknown; status: number };

function calls(s: StandinApiServer, from = 0): Call[] {
  return s.requests.slice(from).filter((r) => !isDiscovery(r)).map((r) => ({
    method: r.method, path: r.path, ...(r.query ? { query: r.query } : {}), ...(r.contentType ? { contentType: r.contentType } : {}), ...(r.body !== undefined ? { body: r.body } : {}), status: r.status,
  }));
}

const cordonPatch = (value: true | null): Call => ({ method: "PATCH", path: NODE, contentType: "application/strategic-merge-patch+json", body: { spec: { unschedulable: value } }, status: 200 });
const getNode: Call = { method: "GET", path: NODE, status: 200 };

// What drain sends before its first eviction (§3.3): cordon, list the node's pods, look up the DaemonSet, check
// that pods/eviction is policy/v1.
const DRAIN_PREFIX: Call[] = [
  getNode,
  cordonPatch(true),
  { method: "GET", path: "/api/v1/pods", query: "fieldSelector=spec.nodeName%3Dnode-1&limit=500", status: 200 },
  { method: "GET", path: "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy", status: 200 },
  { method: "GET", path: "/api/v1", status: 200 },
];

const podPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`;
/** The requests about one pod, eviction and polls, in order. Evictions run in parallel, so pods interleave. */
const about = (cs: Call[], ns: string, name: string) => cs.filter((c) => c.path.startsWith(podPath(ns, name)));
const eviction = (ns: string, name: string, status: number): Call => ({ method: "POST", path: `${podPath(ns, name)}/eviction`, contentType: "application/json", body: evictionBody(ns, name), status });

/** A pod's polls: GET while it is terminating (200), then once 404. */
function expectPolledUntilGone(cs: Call[], ns: string, name: string): void {
  const polls = cs.map((c) => `${c.method} ${c.path} ${c.status}`);
  expect(polls.length).toBeGreaterThanOrEqual(2);
  expect(new Set(polls.slice(0, -1))).toEqual(new Set([`GET ${podPath(ns, name)} 200`]));
  expect(polls.at(-1)).toBe(`GET ${podPath(ns, name)} 404`);
}

describe.skipIf(skip !== undefined)(`real kubectl against the stand-in API server${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("discovers the stand-in's groups on a fresh cache, and not again once cached", async () => {
    const s = await start({ nodes: [{ name: "node-1" }] });
    expect((await kubectl("get", "node", "node-1", "-o", "name")).stdout).toBe("node/node-1\n");
    const discovered = s.requests.filter(isDiscovery).map((r) => r.path).filter((p) => p !== "/version");
    expect(new Set(discovered)).toEqual(new Set(["/api", "/apis", "/api/v1", "/apis/apps/v1", "/apis/policy/v1", "/apis/node.k8s.io/v1"]));
    const before = s.requests.length;
    await kubectl("get", "node", "node-1", "-o", "name");
    expect(s.requests.slice(before).filter((r) => r.path !== "/version" && isDiscovery(r))).toEqual([]);
  });

  it("cordon patches spec.unschedulable once, a second cordon only reads, uncordon patches it to null", async () => {
    const s = await start({ nodes: [{ name: "node-1" }] });
    const first = await kubectl("cordon", "node-1");
    expect(first).toMatchObject({ code: 0, stdout: "node/node-1 cordoned\n" });
    expect(calls(s)).toEqual([getNode, cordonPatch(true)]);
    expect(s.node("node-1").spec.unschedulable).toBe(true);

    let mark = s.requests.length;
    const again = await kubectl("cordon", "node-1");
    expect(again).toMatchObject({ code: 0, stdout: "node/node-1 already cordoned\n" });
    expect(calls(s, mark)).toEqual([getNode]);

    mark = s.requests.length;
    const uncordon = await kubectl("uncordon", "node-1");
    expect(uncordon).toMatchObject({ code: 0, stdout: "node/node-1 uncordoned\n" });
    expect(calls(s, mark)).toEqual([getNode, cordonPatch(null)]);
    expect(s.node("node-1").spec.unschedulable).toBeUndefined();
  });

  it("drain evicts the two evictable pods, retries the PDB-protected one after 5 s, and leaves DaemonSet and mirror pods", async () => {
    const s = await start(drainFixture(0));
    const allow = setTimeout(() => s.setPdb("default", "guard", 1), 1000);
    const run = await kubectl("drain", "node-1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s");
    clearTimeout(allow);

    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split("\n").at(-1)).toBe("node/node-1 drained");
    expect(run.stderr).toContain("Warning: ignoring DaemonSet-managed Pods: kube-system/kube-proxy-zzz");
    expect(run.stderr).toContain(`error when evicting pods/"pdb-protected-xyz" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`);

    const cs = calls(s);
    expect(cs.slice(0, DRAIN_PREFIX.length)).toEqual(DRAIN_PREFIX);
    const rest = cs.slice(DRAIN_PREFIX.length);
    const web = about(rest, "default", "web-abc");
    const guarded = about(rest, "default", "pdb-protected-xyz");
    // Nothing else after the prefix: no eviction of the DaemonSet or mirror pod, no uncordon.
    expect(web.length + guarded.length).toBe(rest.length);

    expect(web[0]).toEqual(eviction("default", "web-abc", 201));
    expectPolledUntilGone(web.slice(1), "default", "web-abc");

    expect(guarded.slice(0, 2)).toEqual([eviction("default", "pdb-protected-xyz", 429), eviction("default", "pdb-protected-xyz", 201)]);
    expectPolledUntilGone(guarded.slice(2), "default", "pdb-protected-xyz");
    const posts = s.requests.filter((r) => r.method === "POST" && r.path.includes("pdb-protected-xyz"));
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(4000);

    expect(s.pods().map((p) => `${p.namespace}/${p.name}`).sort()).toEqual(["kube-system/kube-apiserver-node-1", "kube-system/kube-proxy-zzz"]);
    expect(s.node("node-1").spec.unschedulable).toBe(true);
  });

  it("drain against a PDB that never allows a disruption stops at --timeout, exit 1, node still cordoned", async () => {
    const s = await start(drainFixture(0));
    const run = await kubectl("drain", "node-1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=4s");

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error when evicting pods/"pdb-protected-xyz" -n "default": global timeout reached: 4s`);
    expect(run.stderr).toContain(`error: unable to drain node "node-1" due to error:`);
    expect(s.node("node-1").spec.unschedulable).toBe(true);
    expect(s.pods().map((p) => p.name)).toContain("pdb-protected-xyz");

    const cs = calls(s);
    expect(cs.slice(0, DRAIN_PREFIX.length)).toEqual(DRAIN_PREFIX);
    const guarded = about(cs, "default", "pdb-protected-xyz");
    // One attempt at the start, and one per 5 s sleep that ends before the timeout is checked again.
    expect(guarded.length).toBeGreaterThanOrEqual(1);
    expect(guarded.length).toBeLessThanOrEqual(2);
    for (const c of guarded) expect(c).toEqual(eviction("default", "pdb-protected-xyz", 429));
    expect(about(cs, "default", "web-abc")[0]).toEqual(eviction("default", "web-abc", 201));
    // Not in research §3: on failure kubectl lists the node's pods again (and checks the DaemonSet) to print the
    // pending ones. No uncordon, nothing else.
    const after = cs.slice(DRAIN_PREFIX.length).filter((c) => !c.path.startsWith("/api/v1/namespaces/default/pods/"));
    expect(after).toEqual(DRAIN_PREFIX.slice(2, 4));
  });

  it("annotate sets the kubeadm CRI-socket annotation with a merge patch, and `key-` removes it with null", async () => {
    const s = await start({ nodes: [{ name: "node-1", annotations: { "node.alpha.kubernetes.io/ttl": "0" } }] });
    const set = await kubectl("annotate", "node", "node-1", "--overwrite", `${CRI_SOCKET}=unix:///var/run/crio/crio.sock`);
    expect(set).toMatchObject({ code: 0, stdout: "node/node-1 annotated\n" });
    const patch = (value: string | null): Call => ({
      method: "PATCH", path: NODE, query: "fieldManager=kubectl-annotate", contentType: "application/merge-patch+json", body: { metadata: { annotations: { [CRI_SOCKET]: value } } }, status: 200,
    });
    expect(calls(s)).toEqual([getNode, patch("unix:///var/run/crio/crio.sock")]);
    expect(s.node("node-1").metadata.annotations).toEqual({ "node.alpha.kubernetes.io/ttl": "0", [CRI_SOCKET]: "unix:///var/run/crio/crio.sock" });

    const mark = s.requests.length;
    const remove = await kubectl("annotate", "node", "node-1", `${CRI_SOCKET}-`);
    expect(remove).toMatchObject({ code: 0, stdout: "node/node-1 annotated\n" });
    expect(calls(s, mark)).toEqual([getNode, patch(null)]);
    expect(s.node("node-1").metadata.annotations).toEqual({ "node.alpha.kubernetes.io/ttl": "0" });
  });

  it("get reads the node's runtime, the node's pods' images and the runtime classes' handlers", async () => {
    const s = await start({
      nodes: [{ name: "node-1" }, { name: "node-2" }],
      pods: [
        { namespace: "default", name: "web-abc", nodeName: "node-1", ownerKind: "ReplicaSet", images: ["nginx:1.27", "busybox:1.36"] },
        { namespace: "kube-system", name: "kube-proxy-zzz", nodeName: "node-1", ownerKind: "DaemonSet", images: ["registry.k8s.io/kube-proxy:v1.32.4"], runtimeClassName: "crun" },
        { namespace: "default", name: "elsewhere", nodeName: "node-2", ownerKind: "ReplicaSet", images: ["redis:7"] },
      ],
      runtimeClasses: [{ name: "runc", handler: "runc" }, { name: "crun", handler: "crun" }],
      nodeStatus: (name) => ({ ready: true, containerRuntimeVersion: name === "node-1" ? "cri-o://1.31.0" : "containerd://2.1.1" }),
    });

    const runtime = await kubectl("get", "node", "node-1", "-o", "jsonpath={.status.nodeInfo.containerRuntimeVersion}");
    expect(runtime).toMatchObject({ code: 0, stdout: "cri-o://1.31.0" });
    expect(calls(s)).toEqual([getNode]);

    let mark = s.requests.length;
    const images = await kubectl("get", "pods", "-A", "--field-selector", "spec.nodeName=node-1", "-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.spec.runtimeClassName} {.spec.containers[*].image}{"\\n"}{end}`);
    expect(images).toMatchObject({ code: 0, stdout: "default/web-abc  nginx:1.27 busybox:1.36\nkube-system/kube-proxy-zzz crun registry.k8s.io/kube-proxy:v1.32.4\n" });
    expect(calls(s, mark)).toEqual([{ method: "GET", path: "/api/v1/pods", query: "fieldSelector=spec.nodeName%3Dnode-1&limit=500", status: 200 }]);

    mark = s.requests.length;
    const handlers = await kubectl("get", "runtimeclass", "-o", `jsonpath={range .items[*]}{.metadata.name}={.handler}{"\\n"}{end}`);
    expect(handlers).toMatchObject({ code: 0, stdout: "runc=runc\ncrun=crun\n" });
    expect(calls(s, mark)).toEqual([{ method: "GET", path: "/apis/node.k8s.io/v1/runtimeclasses", query: "limit=500", status: 200 }]);
  });

  it("wait --for=condition=Ready lists then watches the node: met when it turns Ready, exit 1 when it never does", async () => {
    let ready = false;
    const s = await start({ nodes: [{ name: "node-1" }], nodeStatus: () => ({ ready, containerRuntimeVersion: "containerd://2.1.1" }) });
    const turn = setTimeout(() => { ready = true; }, 1500);
    const met = await kubectl("wait", "--for=condition=Ready", "node/node-1", "--timeout=5s");
    clearTimeout(turn);
    expect(met).toMatchObject({ code: 0, stdout: "node/node-1 condition met\n" });
    // The list's resourceVersion is the stand-in's; the watch's timeoutSeconds is random in kubectl's reflector.
    const shape = (c: Call) => ({ ...c, query: c.query?.replace(/resourceVersion=\d+/, "resourceVersion=N").replace(/timeoutSeconds=\d+/, "timeoutSeconds=T") });
    const waited = [
      getNode,
      { method: "GET", path: "/api/v1/nodes", query: "fieldSelector=metadata.name%3Dnode-1&limit=500&resourceVersion=0", status: 200 },
      { method: "GET", path: "/api/v1/nodes", query: "allowWatchBookmarks=true&fieldSelector=metadata.name%3Dnode-1&resourceVersion=N&timeoutSeconds=T&watch=true", status: 200 },
    ];
    expect(calls(s).map(shape)).toEqual(waited.map(shape));

    ready = false;
    const mark = s.requests.length;
    const never = await kubectl("wait", "--for=condition=Ready", "node/node-1", "--timeout=2s");
    expect(never.code).toBe(1);
    expect(never.stderr).toContain("timed out waiting for the condition on nodes/node-1");
    expect(calls(s, mark).map(shape)).toEqual(waited.map(shape));
  });
});
