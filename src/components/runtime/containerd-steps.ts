import { DownloadsConfig } from "../../config/cluster";
import { ContainerdConfig } from "../../config/runtime";
import { modeString, RenderedFile } from "../node/files";
import { scriptAsset } from "../node/shell";
import { StepDefinition, StepNode } from "../node/step";
import { CONTAINERD_CONFIG_PATH, RenderedContainerd } from "./containerd-render";
import { OCI_RUNTIMES_STEP, ociRuntimesStep, requiredBinaries, resolveStepArtifact } from "./oci-runtimes-steps";

export const STEP_IDS = {
  ociRuntimes: OCI_RUNTIMES_STEP,
  containerdInstall: "containerd-install",
  containerdConfigure: "containerd-configure",
} as const;

/** Seconds containerd gets to answer on its socket with the CRI plugin loaded after a (re)start. */
const START_TIMEOUT = 60;

const script = (name: string) => scriptAsset(__dirname, name);

export interface ContainerdStepInput {
  readonly node: StepNode & { readonly arch: "amd64" | "arm64" };
  readonly config: ContainerdConfig;
  readonly rendered: RenderedContainerd;
  readonly downloads: DownloadsConfig;
}

/** The node steps that install and configure containerd, in dependency order. */
export function containerdSteps(input: ContainerdStepInput): StepDefinition[] {
  return [ociRuntimesStep({ node: input.node, runtimes: input.config.runtimes, downloads: input.downloads }), containerdInstallStep(input), containerdConfigureStep(input)];
}

function containerdInstallStep(input: ContainerdStepInput): StepDefinition {
  const { config } = input;
  const install = config.install;
  const files: RenderedFile[] = [];
  const vars: Record<string, string> = {
    KP_CONTAINERD_VERSION: config.version,
    KP_INSTALL_FROM: install.from,
    KP_CONTAINERD_ADDRESS: config.address,
    KP_CONTAINERD_START_TIMEOUT: String(START_TIMEOUT),
    KP_DOWNLOAD_CACHE: input.downloads.cacheDir,
    KP_PACKAGE: "",
    KP_RELEASE_URL: "",
    KP_RELEASE_CHECKSUM: "",
    KP_PREFIX: "",
  };
  let summary: string;
  switch (install.from) {
    case "package":
      // Without an exact version, the glob still pins the upstream release the config is rendered for.
      vars.KP_PACKAGE = `${install.name}=${install.version ?? `${config.version}*`}`;
      summary = `containerd ${config.version} from package ${vars.KP_PACKAGE}`;
      break;
    case "release": {
      const release = resolveStepArtifact("containerd", config.version, input);
      Object.assign(vars, { KP_RELEASE_URL: release.url, KP_RELEASE_CHECKSUM: release.checksum, KP_PREFIX: install.prefix });
      files.push({ path: "/etc/systemd/system/containerd.service", content: containerdUnit(install.prefix), mode: 0o644 });
      summary = `containerd ${config.version} from ${release.url}`;
      break;
    }
    case "preinstalled":
      summary = `containerd ${config.version}, preinstalled (version checked)`;
      break;
    default: {
      const never: never = install;
      throw new Error(`unhandled install ${JSON.stringify(never)}`);
    }
  }
  return {
    node: input.node,
    id: STEP_IDS.containerdInstall,
    phase: "install",
    summary,
    vars,
    files,
    body: [script("containerd-lib.sh"), script("containerd-install.sh")],
    dependsOn: [],
  };
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
  ];
  const registries = Object.keys(config.registries.hosts).length;
  const handlers = Object.keys(config.runtimes).sort().join(", ");
  return {
    node: input.node,
    id: STEP_IDS.containerdConfigure,
    phase: "configure",
    summary: `config version ${rendered.features.configVersion} for containerd ${config.version}; handlers ${handlers}; ${registries} registr${registries === 1 ? "y" : "ies"}`,
    vars: {
      KP_CONTAINERD_VERSION: config.version,
      KP_CONFIG_VERSION: String(rendered.features.configVersion),
      KP_CONTAINERD_ADDRESS: config.address,
      KP_CONTAINERD_START_TIMEOUT: String(START_TIMEOUT),
      KP_CONFIG_PATH: CONTAINERD_CONFIG_PATH,
      KP_CONFIG_MODE: modeString(configMode),
      KP_HAS_SECRET: hasSecret ? "1" : "0",
      KP_RUNTIME_FILES: rendered.runtimeFiles.map((f) => f.path),
      KP_REGISTRY_FILES: rendered.registryFiles.map((f) => f.path),
      KP_RUNTIME_BINARIES: requiredBinaries(config.runtimes),
    },
    files,
    body: [script("containerd-lib.sh"), script("containerd-configure.sh")],
    ...(hasSecret ? { secret: { description: `registry credentials for ${rendered.credentials.map((c) => c.host).join(", ")}` } } : {}),
    dependsOn: [STEP_IDS.ociRuntimes, STEP_IDS.containerdInstall],
  };
}
