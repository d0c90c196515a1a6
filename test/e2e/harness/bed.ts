/**
 * The bed-level helpers the e2e files and the benches share, free of vitest (a bench runs them
 * outside a test runner): waiting for the one bed a machine can run, and the crictl stand-in a
 * stack needs.
 */
import { execFileSync } from "node:child_process";
import { BRIDGE, destroyLeftovers } from "../testbed";
import { crictlRelease } from "../standins/artifacts";

export type Stack = { config: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const BRIDGE_POLL_MS = 5_000;
const BRIDGE_WAIT_MS = 10 * 60_000;

function bridgeExists(): boolean {
  try {
    execFileSync("ip", ["link", "show", BRIDGE], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Beds share the bridge, so one runs at a time: waits (polling every 5 s, up to 10 minutes) while
 * another process's bed holds it, e.g. a containerd e2e run. A bed whose starter is gone holds it
 * for nobody and is removed at each poll: waiting on it would only time out (every e2e file of a CI
 * run once did, on a machine a killed session had left a bridge on).
 */
export async function waitForFreeBridge(): Promise<void> {
  const deadline = Date.now() + BRIDGE_WAIT_MS;
  for (;;) {
    for (const dir of destroyLeftovers()) console.warn(`kubeplug test bed: removed leftover bed ${dir}`);
    if (!bridgeExists()) return;
    if (Date.now() > deadline) throw new Error(`${BRIDGE} still exists after ${BRIDGE_WAIT_MS / 60_000} minutes: another test bed is running`);
    await new Promise((resolve) => setTimeout(resolve, BRIDGE_POLL_MS));
  }
}

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
