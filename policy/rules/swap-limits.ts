import { ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES } from "../resources";

interface SwapFacts {
  readonly pool?: string;
  readonly maxUnavailable?: unknown;
  readonly waveSize?: unknown;
  readonly waves?: readonly { readonly nodes?: readonly string[]; readonly controlPlane?: boolean }[];
}

const PERCENT = /^([1-9][0-9]?|100)%$/;

export function maxUnavailableProblem(value: unknown): string | undefined {
  if (value === undefined || value === null) return "sets no maxUnavailable";
  if (typeof value === "number") return Number.isInteger(value) && value >= 1 ? undefined : `maxUnavailable ${value} is not a count of at least 1`;
  return typeof value === "string" && PERCENT.test(value) ? undefined : `maxUnavailable ${JSON.stringify(value)} is not a count or a percent from 1% to 100%`;
}

export const swapsBounded: ResourceValidationPolicy = {
  name: "kubeplug-swap-max-unavailable",
  description: "Every runtime swap sets maxUnavailable, and no wave takes more nodes out at once than it allows (control-plane nodes one at a time).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== TYPES.cluster) return;
    for (const swap of (args.props.swaps ?? []) as SwapFacts[]) {
      const pool = `runtime swap of pool ${swap.pool ?? "(unnamed)"}`;
      const problem = maxUnavailableProblem(swap.maxUnavailable);
      if (problem) {
        reportViolation(`${args.name}: ${pool} ${problem}; set pools[].swap.maxUnavailable`);
        continue;
      }
      const size = typeof swap.waveSize === "number" ? swap.waveSize : undefined;
      (swap.waves ?? []).forEach((wave, i) => {
        const count = wave.nodes?.length ?? 0;
        const limit = wave.controlPlane ? 1 : size;
        if (limit === undefined || count > limit) {
          reportViolation(`${args.name}: ${pool}: wave ${i + 1} takes ${count} node(s) out at once (${(wave.nodes ?? []).join(", ")}), over its limit of ${limit ?? "(no wave size)"}`);
        }
      });
    }
  },
};
