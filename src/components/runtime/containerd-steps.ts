import { DownloadsConfig } from "../../config/cluster";
import { ContainerdConfig } from "../../config/runtime";
import { modeString, RenderedFile } from "../node/files";
import { scriptAsset } from "../node/shell";
import { credentialsFingerprint, serviceStepParts, StepDefinition, StepNode } from "../node/step";
import { CONTAINERD_CONFIG_PATH, RenderedContainerd } from "./containerd-render";
import { daemonInstallStep } from "./daemon-install";
import { unitFilePath, unitLimitsVars } from "./unit-limits";
import { NVIDIA_TOOLKIT_STEP, OCI_RUNTIMES_STEP, ociRuntimesStep, requiredBinaries } from "./oci-runtimes-steps";
import { nvidiaToolkitStep } from "./nvidia-steps";
import { CRICTL_STEP, crictlStep } from "./crictl-steps";

export const STEP_IDS = {
  nvidiaToolkit: NVIDIA_TOOLKIT_STEP,
  ociRuntimes: OCI_RUNTIMES_STEP,
  containerdInstall: "containerd-install",
  containerdConfigure: "containerd-configure",
  crictl: CRICTL_STEP,
} as const;

export const CONTAINERD_UNIT = "containerd";

/** containerd's health: the unit, the socket and the CRI plugin (containerd_healthy in containerd-lib.sh). */
const service = (config: ContainerdConfig) => serviceStepParts(CONTAINERD_UNIT, config.version, "containerd_healthy");

const script = (name: string) => scriptAsset(__dirname, name);

export interface ContainerdStepInput {
  readonly node: StepNode & { readonly arch: "amd64" | "arm64" };
  readonly config: ContainerdConfig;
  readonly rendered: RenderedContainerd;
  readonly downloads: DownloadsConfig;
}

/** The node steps that install and configure containerd, in dependency order. */
export function containerdSteps(input: ContainerdStepInput): StepDefinition[] {
  const nvidia = nvidiaToolkitStep({ node: input.node, runtimes: input.config.runtimes });
  const crictl = crictlStep({ node: input.node, crictl: input.config.crictl, runtimeEndpoint: input.rendered.runtimeEndpoint, downloads: input.downloads });
  return [
    ...(nvidia ? [nvidia] : []),
    ociRuntimesStep({ node: input.node, runtimes: input.config.runtimes, downloads: input.downloads, minVersions: input.rendered.features.minEngineVersions }),
    containerdInstallStep(input),
    ...(crictl ? [crictl] : []),
    // Last: RuntimeClasses wait for the last runtime step of each node.
    containerdConfigureStep(input),
  ];
}

function containerdInstallStep(input: ContainerdStepInput): StepDefinition {
  const { config } = input;
  return daemonInstallStep({
    node: input.node,
    downloads: input.downloads,
    id: STEP_IDS.containerdInstall,
    label: "containerd",
    version: config.version,
    install: config.install,
    artifact: "containerd",
    vars: { ...service(config).vars, KP_CONTAINERD_ADDRESS: config.address, KP_PREFIX: "" },
    release: (artifact, prefix) => ({
      vars: { KP_PREFIX: prefix },
      files: [{ path: unitFilePath(CONTAINERD_UNIT), content: containerdUnit(prefix), mode: 0o644 }],
      summary: `containerd ${config.version} from ${artifact.url}`,
    }),
    body: [script("containerd-lib.sh"), service(config).library, script("containerd-install.sh")],
  });
}

/** containerd's own unit (containerd.service @ v2.1.9) with the binary under the install prefix. */
function containerdUnit(prefix: string): string {
  return `# Managed by kubeplug: containerd's upstream unit for a release install under ${prefix}.
[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target dbus.service

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=${prefix}/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
`;
}

function containerdConfigureStep(input: ContainerdStepInput): StepDefinition {
  const { config, rendered } = input;
  const hasSecret = rendered.credentials.length > 0;
  const configMode = hasSecret ? 0o600 : 0o644;
  const files: RenderedFile[] = [
    { path: CONTAINERD_CONFIG_PATH, content: rendered.configToml, mode: configMode },
    ...rendered.runtimeFiles,
    ...rendered.registryFiles,
    ...(rendered.unitLimits ? [rendered.unitLimits] : []),
  ];
  const registries = Object.keys(config.registries.hosts).length;
  const handlers = Object.keys(config.runtimes).sort().join(", ");
  return {
    node: input.node,
    id: STEP_IDS.containerdConfigure,
    phase: "configure",
    summary: `config version ${rendered.features.configVersion} for containerd ${config.version}; handlers ${handlers}; ${registries} registr${registries === 1 ? "y" : "ies"}`,
    vars: {
      ...service(config).vars,
      KP_CONFIG_VERSION: String(rendered.features.configVersion),
      KP_CONTAINERD_ADDRESS: config.address,
      KP_CONFIG_PATH: CONTAINERD_CONFIG_PATH,
      KP_CONFIG_MODE: modeString(configMode),
      KP_HAS_SECRET: hasSecret ? "1" : "0",
      KP_RUNTIME_FILES: rendered.runtimeFiles.map((f) => f.path),
      KP_REGISTRY_FILES: rendered.registryFiles.map((f) => f.path),
      KP_RUNTIME_BINARIES: requiredBinaries(config.runtimes),
      ...unitLimitsVars(CONTAINERD_UNIT, rendered.unitLimits),
    },
    files,
    body: [script("containerd-lib.sh"), service(config).library, script("containerd-configure.sh")],
    ...(hasSecret ? { secret: { description: `registry credentials for ${rendered.credentials.map((c) => c.host).join(", ")}`, completes: [CONTAINERD_CONFIG_PATH], fingerprint: credentialsFingerprint(rendered.credentials.map((c) => ({ ...c, registry: c.host }))) } } : {}),
    dependsOn: [STEP_IDS.ociRuntimes, STEP_IDS.containerdInstall],
  };
}
