import { z } from "zod";
import { describeValue } from "./path";
import { labels } from "./primitives";
import { handlerName } from "./runtime-common";
import { strictObject } from "./zod";

const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/, {
  error: (issue) => `${describeValue(issue.input)} is not a Kubernetes quantity such as "250m" or "160Mi"`,
});

/**
 * A RuntimeClass. kubeplug makes one per handler any pool configures; an entry here customises the
 * class of that name or adds one (for example a second name for a handler).
 */
export const runtimeClass = strictObject({
  handler: handlerName.optional().describe("The CRI handler; default: the class name."),
  nodeSelector: labels.optional().describe("Default: the pool labels that select exactly the pools with the handler; none when every node has it."),
  overhead: strictObject({ cpu: quantity.optional().describe("CPU each pod of the class costs on top of its containers, e.g. 250m."), memory: quantity.optional().describe("Memory each pod of the class costs on top of its containers, e.g. 160Mi.") }).optional().describe("overhead.podFixed; default for Kata: kata-deploy's per-hypervisor figures."),
});
export type RuntimeClassConfig = z.infer<typeof runtimeClass>;

/** RuntimeClass names are DNS subdomains; kubeplug keeps them to labels so they match handler names. */
export const runtimeClassName = handlerName;
