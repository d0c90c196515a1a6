import { z } from "zod";
import { absolutePath } from "./primitives";
import { strictObject } from "./zod";

/** Network settings; the CNI domain grows here (plugins, conflists, providers). */
export const networkConfig = strictObject({
  cni: strictObject({
    binDir: absolutePath.default("/opt/cni/bin").describe("Where runtimes look for CNI plugin binaries."),
    confDir: absolutePath.default("/etc/cni/net.d").describe("Where runtimes look for network configuration lists."),
  }).default({ binDir: "/opt/cni/bin", confDir: "/etc/cni/net.d" }),
});
export type NetworkConfig = z.infer<typeof networkConfig>;
