/** Fixed names of the test bed. Beds share them, so one bed runs on a machine at a time. */
export const BRIDGE = "kpbr0";
export const HOST_ADDRESS = "10.231.0.1";
export const PREFIX_LENGTH = 24;
export const MIRROR_PORT = 8431;
export const MIRROR_URL = `http://${HOST_ADDRESS}:${MIRROR_PORT}`;

/** Base rootfs and package mirror, built once per machine and reused by every bed. */
export const CACHE_DIR = process.env.KUBEPLUG_TESTBED_CACHE ?? "/var/cache/kubeplug-testbed";
/** One directory per bed (node rootfs, key, logs, state.json); beds started with another `dir` link theirs here. */
export const BEDS_DIR = process.env.KUBEPLUG_TESTBED_DIR ?? "/var/tmp/kubeplug-testbed";
