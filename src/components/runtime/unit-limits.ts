import { ServiceLimits } from "../../config/daemon-settings";
import { RenderedFile } from "../node/files";

/** Where kubeplug puts the unit of a daemon it installs from a release. */
export const unitFilePath = (unit: string): string => `/etc/systemd/system/${unit}.service`;

/** Where a unit's limits drop-in goes; the configure step also needs it when there is none, to retire an old one. */
export const unitLimitsPath = (unit: string): string => `/etc/systemd/system/${unit}.service.d/50-kubeplug-limits.conf`;

/** The drop-in with a unit's limits, or nothing when the stack sets none (a file left from before is pruned). */
export function unitLimitsDropIn(unit: string, limits: ServiceLimits | undefined): RenderedFile | undefined {
  const entries = Object.entries(limits ?? {}).filter(([, value]) => value !== undefined);
  if (entries.length === 0) return undefined;
  return {
    path: unitLimitsPath(unit),
    content: `# Managed by kubeplug: limits of ${unit}.service and of every process it starts.\n[Service]\n${entries.map(([key, value]) => `${key}=${value}`).join("\n")}\n`,
    mode: 0o644,
  };
}

/** What the configure step's kp_service_limits reads. */
export function unitLimitsVars(unit: string, dropIn: RenderedFile | undefined): Record<string, string> {
  return { KP_UNIT_LIMITS: unitLimitsPath(unit), KP_UNIT_LIMITS_RENDERED: dropIn ? "1" : "0" };
}
