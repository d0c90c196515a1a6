import { MODULE_FACTS } from "../../catalog/kernel-modules";
import { NodePrepareSettings } from "../../config/node-prepare";
import { RenderedFile } from "./files";
import { scriptAsset } from "./shell";
import { StepDefinition, StepNode } from "./step";

export const NODE_PREPARE_STEP = "node-prepare";
/** systemd-modules-load reads it at boot. */
export const MODULES_LOAD_FILE = "/etc/modules-load.d/kubeplug.conf";
/**
 * systemd-sysctl (and `sysctl --system`) read it at boot. It sorts after the usual vendor and admin
 * files (10-*, 50-*, 60-*), so its values win over theirs; 99-sysctl.conf (Debian's link to
 * /etc/sysctl.conf) sorts after it.
 */
export const SYSCTL_FILE = "/etc/sysctl.d/99-kubeplug.conf";

export interface RenderedPrepare {
  readonly modulesLoad: RenderedFile;
  readonly sysctlConf: RenderedFile;
}

/** Globs first: sysctl.d applies explicit keys over globs, and the step sets values in file order. */
function fileOrder(sysctls: NodePrepareSettings["sysctls"]): NodePrepareSettings["sysctls"] {
  return [...sysctls.filter(([k]) => k.includes("*")), ...sysctls.filter(([k]) => !k.includes("*"))];
}

export function renderPrepare(settings: NodePrepareSettings): RenderedPrepare {
  return {
    modulesLoad: {
      path: MODULES_LOAD_FILE,
      content: `# Managed by kubeplug (node-prepare): kernel modules the container runtime and the pod network need.\n${settings.modules.join("\n")}\n`,
      mode: 0o644,
    },
    sysctlConf: {
      path: SYSCTL_FILE,
      content: `# Managed by kubeplug (node-prepare): sysctls Kubernetes and this stack need.\n${fileOrder(settings.sysctls).map(([k, v]) => `${k} = ${v}`).join("\n")}\n`,
      mode: 0o644,
    },
  };
}

/** The node-prepare step: swap check, modules and sysctls, now and at boot; every runtime install step depends on it. */
export function nodePrepareStep(node: StepNode, settings: NodePrepareSettings): StepDefinition {
  const rendered = renderPrepare(settings);
  const known = settings.modules.filter((m) => Object.hasOwn(MODULE_FACTS, m));
  const swap = settings.failSwapOn ? "no swap (failSwapOn)" : `swap allowed (${settings.swapBehavior})`;
  return {
    node,
    id: NODE_PREPARE_STEP,
    phase: "configure",
    summary: `modules ${settings.modules.join(", ")}; ${settings.sysctls.length} sysctls; ${swap}`,
    vars: {
      KP_MODULES: [...settings.modules],
      KP_MODULE_EVIDENCE: known.flatMap((m) => MODULE_FACTS[m]!.evidence.map((e) => `${m}=${e}`)),
      KP_SYSCTLS: fileOrder(settings.sysctls).map(([k, v]) => `${k}=${v}`),
      KP_SYSCTL_MODULES: known.flatMap((m) => MODULE_FACTS[m]!.sysctlPrefixes.map((p) => `${p}=${m}`)),
      KP_FAIL_SWAP_ON: settings.failSwapOn ? "1" : "0",
      KP_SWAP_BEHAVIOR: settings.swapBehavior ?? "",
      KP_MODULES_FILE: MODULES_LOAD_FILE,
      KP_SYSCTL_FILE: SYSCTL_FILE,
    },
    files: [rendered.modulesLoad, rendered.sysctlConf],
    body: [scriptAsset(__dirname, "node-prepare.sh")],
    dependsOn: [],
  };
}
