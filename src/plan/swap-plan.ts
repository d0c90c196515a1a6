import { NodeConfig, PoolConfig } from "../config/cluster";
import { RuntimeSwapConfig } from "../config/runtime-swap";
import { keptForRollback, SWAP_STEPS, swapFromDescription, SwapPosition, SwapTarget } from "../components/runtime/runtime-swap";
import { StepRef } from "../components/node/step";
import { PoolRuntimePlan } from "./runtime-plan";

export interface SwapWave {
  /** 1-based within the pool. */
  readonly number: number;
  readonly nodes: readonly string[];
  readonly controlPlane: boolean;
}

/** One pool's swap as the plan shows it before anything runs. */
export interface PoolSwapPlan {
  readonly pool: string;
  readonly from: string;
  readonly to: string;
  readonly fromEndpoint: string;
  readonly toEndpoint: string;
  /** maxUnavailable as the stack gives it: a count, or a percent of the pool's workers. */
  readonly maxUnavailable: RuntimeSwapConfig["maxUnavailable"];
  /** maxUnavailable as a node count. */
  readonly waveSize: number;
  readonly pauseSeconds: number;
  readonly waves: readonly SwapWave[];
  /** The step ids of one node's swap, in order, with the new runtime's own steps between stop-old and prepull. */
  readonly phases: readonly string[];
  readonly kept: readonly string[];
}

/** The new runtime as a swap phase needs it. */
export function swapTarget(runtime: PoolRuntimePlan, sandboxImage: string, version: string): SwapTarget {
  return { kind: runtime.kind, version, description: runtime.description, endpoint: runtime.runtimeEndpoint, handlers: runtime.handlers, sandboxImage };
}

/** maxUnavailable as a count of the pool's workers: a percent rounds down, to at least one node. */
export function waveSize(maxUnavailable: RuntimeSwapConfig["maxUnavailable"], workers: number): number {
  if (typeof maxUnavailable === "number") return maxUnavailable;
  return Math.max(1, Math.floor((Number(maxUnavailable.slice(0, -1)) * workers) / 100));
}

/** Workers in waves of waveSize, in the stack's order; then each control-plane node alone. */
export function planWaves(nodes: readonly NodeConfig[], size: number): SwapWave[] {
  const workers = nodes.filter((n) => !n.roles.includes("control-plane")).map((n) => n.name);
  const controlPlanes = nodes.filter((n) => n.roles.includes("control-plane")).map((n) => n.name);
  const waves: SwapWave[] = [];
  for (let i = 0; i < workers.length; i += size) waves.push({ number: waves.length + 1, nodes: workers.slice(i, i + size), controlPlane: false });
  for (const name of controlPlanes) waves.push({ number: waves.length + 1, nodes: [name], controlPlane: true });
  return waves;
}

export function planPoolSwap(pool: PoolConfig & { swap: RuntimeSwapConfig }, runtime: PoolRuntimePlan, target: SwapTarget, nodes: readonly NodeConfig[], phases: readonly string[]): PoolSwapPlan {
  const workers = nodes.filter((n) => !n.roles.includes("control-plane")).length;
  const size = waveSize(pool.swap.maxUnavailable, workers);
  return {
    pool: pool.name,
    from: swapFromDescription(pool.swap),
    to: runtime.description,
    fromEndpoint: pool.swap.from.endpoint,
    toEndpoint: runtime.runtimeEndpoint,
    maxUnavailable: pool.swap.maxUnavailable,
    waveSize: size,
    pauseSeconds: pool.swap.pauseSeconds,
    waves: planWaves(nodes, size),
    phases,
    kept: keptForRollback(pool.swap, target),
  };
}

export function positionOf(plan: Pick<PoolSwapPlan, "waves">, node: string): SwapPosition {
  const wave = plan.waves.find((w) => w.nodes.includes(node))!;
  return { wave: wave.number, waves: plan.waves.length };
}

/**
 * What each node's drain waits for, as steps of other nodes: every swapping node's preflight (the
 * whole change is refused before any node is drained), the previous wave of its pool, and, for
 * control-plane nodes, the last worker wave of every pool and the control-plane node before it.
 * Pulumi then orders the waves and starts no dependent of a failed step.
 */
export function drainWaits(swaps: readonly PoolSwapPlan[]): Map<string, StepRef[]> {
  const preflights = swaps.flatMap((s) => s.waves.flatMap((w) => w.nodes)).map((node) => ({ node, step: SWAP_STEPS.preflight }));
  const finished = (nodes: readonly string[]) => nodes.map((node) => ({ node, step: SWAP_STEPS.start }));
  const lastWorkers = swaps.flatMap((s) => finished(s.waves.filter((w) => !w.controlPlane).at(-1)?.nodes ?? []));
  const controlPlaneOrder = swaps.flatMap((s) => s.waves.filter((w) => w.controlPlane).flatMap((w) => w.nodes));
  const waits = new Map<string, StepRef[]>();
  for (const swap of swaps) {
    const workerWaves = swap.waves.filter((w) => !w.controlPlane);
    workerWaves.forEach((wave, i) => {
      const before = i === 0 ? [] : finished(workerWaves[i - 1]!.nodes);
      for (const node of wave.nodes) waits.set(node, [...preflights.filter((p) => p.node !== node), ...before]);
    });
  }
  controlPlaneOrder.forEach((node, i) => {
    const before = i === 0 ? lastWorkers : finished([controlPlaneOrder[i - 1]!]);
    waits.set(node, [...preflights.filter((p) => p.node !== node), ...before]);
  });
  return waits;
}
