import { Arch } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { ContainerdConfig, CRICTL_CONFIG } from "../../config/runtime";
import { RenderedFile } from "../node/files";
import { withInstallReceipt } from "../node/receipt";
import { scriptAsset } from "../node/shell";
import { StepDefinition, StepNode } from "../node/step";
import { resolveStepArtifact } from "./oci-runtimes-steps";

export const CRICTL_STEP = "crictl-install";
export const CRICTL_BINARY = "/usr/local/bin/crictl";

/**
 * /etc/crictl.yaml for a containerd pool, as CRI-O pools get it from crio-configure. It has its own
 * owner (this step), so a runtime swap can repoint it without touching containerd's files.
 */
export function renderCrictlYaml(endpoint: string): RenderedFile {
  return { path: CRICTL_CONFIG, content: `# Managed by kubeplug.\nruntime-endpoint: ${endpoint}\nimage-endpoint: ${endpoint}\ntimeout: 10\n`, mode: 0o644 };
}

export interface CrictlStepInput {
  readonly node: StepNode & { readonly arch: Arch };
  readonly crictl: ContainerdConfig["crictl"];
  readonly runtimeEndpoint: string;
  readonly downloads: DownloadsConfig;
}

/** crictl from the pinned, checksum-verified release (or a check of a preinstalled one) and its crictl.yaml; undefined for `from: none`. */
export function crictlStep(input: CrictlStepInput): StepDefinition | undefined {
  const { crictl } = input;
  if (crictl.from === "none") return undefined;
  const vars: Record<string, string> = { KP_CRICTL_FROM: crictl.from, KP_CRICTL_BINARY: CRICTL_BINARY, KP_CRICTL_CONFIG: CRICTL_CONFIG, KP_DOWNLOAD_CACHE: input.downloads.cacheDir, KP_CRICTL_URL: "", KP_CRICTL_CHECKSUM: "", KP_CRICTL_VERSION: "" };
  let summary: string;
  if (crictl.from === "release") {
    const artifact = resolveStepArtifact("crictl", crictl.version, input);
    Object.assign(vars, { KP_CRICTL_URL: artifact.url, KP_CRICTL_CHECKSUM: artifact.checksum, KP_CRICTL_VERSION: crictl.version });
    summary = `crictl ${crictl.version} from ${artifact.url}; ${CRICTL_CONFIG} -> ${input.runtimeEndpoint}`;
  } else {
    summary = `crictl preinstalled (checked); ${CRICTL_CONFIG} -> ${input.runtimeEndpoint}`;
  }
  return withInstallReceipt({
    node: input.node,
    id: CRICTL_STEP,
    phase: "install",
    summary,
    vars,
    files: [renderCrictlYaml(input.runtimeEndpoint)],
    body: [scriptAsset(__dirname, "crictl-install.sh")],
    dependsOn: [],
  });
}
