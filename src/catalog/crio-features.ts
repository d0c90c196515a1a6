/**
 * CRI-O release lines kubeplug renders for. CRI-O's minor follows the Kubernetes minor; these are
 * the lines with pinned bundles in the catalog (kubespray 46dbdd39) and the config model read from
 * cri-o v1.36.3 (../shared/research/runtimes.md §4, test/fixtures/crio/config-reference.json).
 */
export const SUPPORTED_CRIO_LINES = ["1.34", "1.35", "1.36"] as const;

/** The first CRI-O release that can run gVisor (as a vm-type handler); none is released yet. */
export const CRIO_GVISOR_MIN = "1.37";

export function crioLine(version: string): string | undefined {
  const match = /^(\d+)\.(\d+)\.\d+$/.exec(version);
  const line = match ? `${match[1]}.${match[2]}` : undefined;
  return line && (SUPPORTED_CRIO_LINES as readonly string[]).includes(line) ? line : undefined;
}

/**
 * `crio.runtime.cdi_spec_dirs` exists from CRI-O 1.24.0 (pkg/config/config.go; absent at v1.23.0), and CRI-O injects CDI
 * devices whenever a container asks (no switch); the CRI CDIDevices field is read from 1.28 (internal/factory/container).
 * Every line in SUPPORTED_CRIO_LINES is newer, so no CRI-O pool is refused for CDI (checked in a unit test).
 */
export const CRIO_CDI_MIN = "1.28";
