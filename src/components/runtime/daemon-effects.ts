import { CONTAINERD_CONFIG_PATH } from "./containerd-render";
import { CONTAINERD_UNIT, STEP_IDS } from "./containerd-steps";
import { CRIO_DROP_IN, CRIO_REGISTRIES } from "./crio-render";
import { CRIO_STEP_IDS, CRIO_UNIT } from "./crio-steps";
import { unitFilePath, unitLimitsPath } from "./unit-limits";

/**
 * What a change does to a runtime's daemon, as its install and configure scripts act on it
 * (containerd-configure.sh, crio-configure.sh): the files read only at start, those re-read on a
 * reload, and the install step that restarts a running daemon when one of its binaries differs.
 */
export interface DaemonEffects {
  readonly unit: string;
  /** The config, the limits drop-in and the unit: a change to one restarts the daemon. */
  readonly restartFiles: readonly string[];
  /** Re-read on SIGHUP: a change reloads the daemon. */
  readonly reloadFiles: readonly string[];
  readonly installStep: string;
  /** The step whose secret payload holds registry credentials, and what a change to them does. */
  readonly credentialsStep: string;
  readonly credentials: "restart" | "reload";
}

export function daemonEffects(kind: "containerd" | "crio"): DaemonEffects {
  switch (kind) {
    case "containerd":
      // hosts.toml is read at every pull and shim configs when a container starts: neither restarts anything.
      // Credentials live in config.toml (completed on the node), so a change to them restarts containerd.
      return { unit: CONTAINERD_UNIT, restartFiles: startFiles(CONTAINERD_UNIT, CONTAINERD_CONFIG_PATH), reloadFiles: [], installStep: STEP_IDS.containerdInstall, credentialsStep: STEP_IDS.containerdConfigure, credentials: "restart" };
    case "crio":
      // registries.conf.d and auth.json are re-read on reload.
      return { unit: CRIO_UNIT, restartFiles: startFiles(CRIO_UNIT, CRIO_DROP_IN), reloadFiles: [CRIO_REGISTRIES], installStep: CRIO_STEP_IDS.install, credentialsStep: CRIO_STEP_IDS.configure, credentials: "reload" };
    default: {
      const never: never = kind;
      throw new Error(`unhandled runtime ${JSON.stringify(never)}`);
    }
  }
}

function startFiles(unit: string, config: string): string[] {
  return [config, unitLimitsPath(unit), unitFilePath(unit)];
}
