import { DEFAULT_KATA_HYPERVISOR, KATA_OVERHEAD } from "../catalog/engines";
import { RuntimeClassConfig } from "./runtime-class";

/** A node as RuntimeClass scheduling sees it: its labels and the handlers its runtime knows. */
export interface ClassNode {
  readonly name: string;
  readonly pool: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly handlers: readonly string[];
}

/** A pool's labels and handlers; the engine tells kubeplug which handlers run VMs (Kata). */
export interface ClassPool {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly handlers: Readonly<Record<string, { readonly engine: string; readonly hypervisor?: string }>>;
}

export interface RuntimeClassSpec {
  readonly name: string;
  readonly handler: string;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly overhead?: { readonly cpu?: string | undefined; readonly memory?: string | undefined };
  /** Nodes the class can schedule onto (all of them have the handler). */
  readonly nodes: readonly string[];
}

export interface ClassProblem {
  readonly className: string;
  readonly field?: "handler" | "nodeSelector";
  readonly message: string;
}

export const matches = (labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>> | undefined) =>
  !selector || Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The nodes a selector picks that do not have the handler: a pod scheduled there would fail to start. */
export function nodesMissingHandler(handler: string, selector: Readonly<Record<string, string>> | undefined, nodes: readonly ClassNode[]): ClassNode[] {
  return nodes.filter((n) => matches(n.labels, selector) && !n.handlers.includes(handler));
}

/**
 * One RuntimeClass per handler any pool configures, plus the classes the stack adds, each with a
 * node selector that picks only nodes whose runtime has the handler.
 */
export function planRuntimeClasses(
  pools: readonly ClassPool[],
  nodes: readonly ClassNode[],
  custom: Readonly<Record<string, RuntimeClassConfig>>,
): { classes: RuntimeClassSpec[]; problems: ClassProblem[] } {
  const classes: RuntimeClassSpec[] = [];
  const problems: ClassProblem[] = [];
  const handlerNames = new Set(pools.flatMap((p) => Object.keys(p.handlers)));
  const names = [...new Set([...handlerNames, ...Object.keys(custom)])].sort();
  for (const name of names) {
    const config = custom[name] ?? {};
    const handler = config.handler ?? name;
    if (!handlerNames.has(handler)) {
      problems.push({ className: name, field: "handler", message: `"${handler}" is not a handler of any pool (configured: ${[...handlerNames].sort().join(", ")})` });
      continue;
    }
    const derived = config.nodeSelector ?? deriveSelector(handler, pools, nodes, name, problems);
    if (derived === null) continue;
    const missing = nodesMissingHandler(handler, derived, nodes);
    if (missing.length > 0) {
      problems.push({
        className: name,
        field: "nodeSelector",
        message: `selects ${missing.map((n) => `${n.name} (pool ${n.pool})`).join(", ")}, whose runtime has no handler "${handler}"`,
      });
      continue;
    }
    const selected = nodes.filter((n) => matches(n.labels, derived)).map((n) => n.name);
    if (selected.length === 0) {
      problems.push({ className: name, field: "nodeSelector", message: `${JSON.stringify(derived)} selects no node of this stack` });
      continue;
    }
    const overhead = config.overhead ?? kataOverhead(handler, pools);
    classes.push({ name, handler, ...(derived ? { nodeSelector: derived } : {}), ...(overhead ? { overhead } : {}), nodes: selected });
  }
  return { classes, problems };
}

/** The labels shared by every pool with the handler, when they leave out every node without it. */
function deriveSelector(handler: string, pools: readonly ClassPool[], nodes: readonly ClassNode[], name: string, problems: ClassProblem[]): Record<string, string> | undefined | null {
  if (nodes.every((n) => n.handlers.includes(handler))) return undefined;
  const withHandler = pools.filter((p) => handler in p.handlers);
  const shared = Object.fromEntries(
    Object.entries(withHandler[0]!.labels).filter(([k, v]) => withHandler.every((p) => p.labels[k] === v)),
  );
  if (Object.keys(shared).length > 0 && nodesMissingHandler(handler, shared, nodes).length === 0) return shared;
  const without = pools.filter((p) => !(handler in p.handlers) && nodes.some((n) => n.pool === p.name)).map((p) => p.name);
  problems.push({
    className: name,
    field: "nodeSelector",
    message: `handler "${handler}" is on pools ${withHandler.map((p) => p.name).join(", ")} but not on ${without.join(", ")}, and no pool label tells them apart: give the pools with it a label (pools[].labels) or set this nodeSelector`,
  });
  return null;
}

function kataOverhead(handler: string, pools: readonly ClassPool[]): { cpu: string; memory: string } | undefined {
  const kata = pools.map((p) => p.handlers[handler]).find((h) => h?.engine === "kata");
  return kata ? KATA_OVERHEAD[kata.hypervisor ?? DEFAULT_KATA_HYPERVISOR] : undefined;
}

/** The pools and nodes of a stack as RuntimeClass planning sees them (node labels over pool labels). */
export function classInputs(cluster: {
  readonly pools: readonly { readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly runtime: { readonly runtimes: Readonly<Record<string, { readonly engine: string; readonly hypervisor?: string }>> } }[];
  readonly nodes: readonly { readonly name: string; readonly pool: string; readonly labels: Readonly<Record<string, string>> }[];
}): { pools: ClassPool[]; nodes: ClassNode[] } {
  const pools = cluster.pools.map((p) => ({ name: p.name, labels: p.labels, handlers: p.runtime.runtimes }));
  const nodes = cluster.nodes.flatMap((n) => {
    const pool = pools.find((p) => p.name === n.pool);
    return pool ? [{ name: n.name, pool: pool.name, labels: { ...pool.labels, ...n.labels }, handlers: Object.keys(pool.handlers) }] : [];
  });
  return { pools, nodes };
}
