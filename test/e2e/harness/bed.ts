/**
 * The bed-level helpers the e2e files and the benches share, free of vitest (a bench runs them
 * outside a test runner): waiting for the one bed a machine can run, and the crictl stand-in a
 * stack needs.
 */
import { crictlRelease } from "../standins/artifacts";

export type Stack = { config: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

// The test bed module holds it, free of vitest like this one.
export { waitForFreeBridge } from "../testbed";

/**
 * Every containerd pool installs crictl from its release by default, and no test can download it:
 * a stack that names no crictl source of its own gets the STAND-IN crictl tarball
 * (standins/artifacts.ts crictlRelease) in downloads.baseUrls/checksums.
 */
export async function withCrictlStandin(stack: Stack): Promise<Stack> {
  const cluster = stack.config["kubeplug:cluster"];
  if (!cluster || cluster.downloads?.baseUrls?.crictl) return stack;
  const crictl = await crictlRelease();
  const downloads = cluster.downloads ?? {};
  return {
    ...stack,
    config: {
      ...stack.config,
      "kubeplug:cluster": {
        ...cluster,
        downloads: { ...downloads, baseUrls: { ...downloads.baseUrls, crictl: crictl.baseUrl }, checksums: { ...downloads.checksums, crictl: { ...crictl.checksums, ...downloads.checksums?.crictl } } },
      },
    },
  };
}
