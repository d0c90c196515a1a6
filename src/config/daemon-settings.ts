import { z } from "zod";
import { describeValue } from "./path";
import { hostAddress } from "./primitives";
import { strictObject } from "./zod";

// Settings both runtime daemons have, typed once; each runtime's renderer puts them where it reads them.

/** The log levels containerd (logrus) and CRI-O (`log_level`) both accept. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "panic"] as const;

/** host:port, IPv6 hosts in brackets, as both daemons' metrics listeners take it. */
export const listenAddress = z.string().refine(isListenAddress, {
  error: (issue) => `${describeValue(issue.input)} is not a listen address of the form host:port (e.g. "127.0.0.1:1338", "[::1]:1338")`,
});

function isListenAddress(value: string): boolean {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/]+):(\d{1,5})$/.exec(value);
  if (!match) return false;
  const host = match[1]!.startsWith("[") ? match[1]!.slice(1, -1) : match[1]!;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 && hostAddress.safeParse(host).success;
}

/** A systemd resource limit: a number, or "infinity". */
const systemdLimit = z.union([z.number().int().min(0), z.literal("infinity")], {
  error: (issue) => `${describeValue(issue.input)} is not a limit: a whole number or "infinity"`,
});

const UNIT_LIMIT = (what: string) => `${what} of the daemon and every shim and container it starts (they inherit it).`;

/**
 * systemd.exec(5) limits kubespray users set on the runtime's unit. Upstream names are kept, so the
 * setting reads as it does in the drop-in kubeplug writes.
 */
export const serviceLimits = strictObject({
  LimitNOFILE: systemdLimit.optional().describe(UNIT_LIMIT("Open files (RLIMIT_NOFILE)")),
  LimitNPROC: systemdLimit.optional().describe(UNIT_LIMIT("Processes (RLIMIT_NPROC)")),
  LimitCORE: systemdLimit.optional().describe(UNIT_LIMIT("Core file size (RLIMIT_CORE)")),
  LimitMEMLOCK: systemdLimit.optional().describe(UNIT_LIMIT("Locked memory in bytes (RLIMIT_MEMLOCK)")),
  TasksMax: systemdLimit.optional().describe("Tasks the unit's cgroup may hold (pids.max)."),
}).describe("systemd limits of the runtime's unit, written as an owned drop-in (50-kubeplug-limits.conf); a change restarts the runtime.");
export type ServiceLimits = z.infer<typeof serviceLimits>;

export const daemonSettings = {
  logLevel: z.enum(LOG_LEVELS).optional().describe("The daemon's log level (containerd [debug] level, CRI-O log_level); unset: the daemon's default (info)."),
  metricsAddress: listenAddress.optional().describe("Where the daemon serves Prometheus metrics (containerd [metrics] address, CRI-O metrics_host/metrics_port); unset: no metrics listener."),
  unprivilegedPorts: z.boolean().optional().describe("Let pods bind ports below 1024 without CAP_NET_BIND_SERVICE (containerd enable_unprivileged_ports; CRI-O sets net.ipv4.ip_unprivileged_port_start=0 in default_sysctls). Unset: the runtime's default (containerd 1.x off, 2.x on; CRI-O off)."),
  unprivilegedIcmp: z.boolean().optional().describe("Let pods open ICMP echo sockets without CAP_NET_RAW (containerd enable_unprivileged_icmp; CRI-O sets net.ipv4.ping_group_range in default_sysctls). Unset: the runtime's default (containerd 1.x off, 2.x on; CRI-O off)."),
  deviceOwnershipFromSecurityContext: z.boolean().optional().describe("Devices given to a container are owned by its runAsUser/runAsGroup instead of root (device_ownership_from_security_context); unset: off."),
  serviceLimits: serviceLimits.optional(),
};
