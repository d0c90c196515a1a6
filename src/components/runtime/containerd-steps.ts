import { resolveArtifact, ResolvedArtifact } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { ContainerdConfig, RuntimeHandler } from "../../config/runtime";
import { modeString, RenderedFile } from "../node/files";
import { scriptAsset } from "../node/shell";
import { StepDefinition, StepNode } from "../node/step";
import { CONTAINERD_CONFIG_PATH, RenderedContainerd } from "./containerd-render";
import { engineBinary, engineFacts, enginePackage } from "./oci-engines";

export const STEP_IDS = {
  ociRuntimes: "oci-runtimes-install",
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
  return [ociRuntimesStep(input), containerdInstallStep(input), containerdConfigureStep(input)];
}

function artifact(name: Parameters<typeof resolveArtifact>[0], version: string, input: ContainerdStepInput): ResolvedArtifact {
  const lookup = resolveArtifact(name, version, input.node.arch, input.downloads);
  if (!lookup.ok) throw new Error(`${lookup.reason} (the config checks should have caught this)`);
  return lookup.artifact;
}

type InstalledHandler = Exclude<RuntimeHandler, { engine: "custom" }>;

function installedHandlers(config: ContainerdConfig): [string, InstalledHandler][] {
  return Object.entries(config.runtimes)
    .filter((entry): entry is [string, InstalledHandler] => entry[1].engine !== "custom")
    .sort(([a], [b]) => a.localeCompare(b));
}

function ociRuntimesStep(input: ContainerdStepInput): StepDefinition {
  const packages = new Set<string>();
  const releases = new Map<string, string>();
  const required: string[] = [];
  for (const [name, handler] of installedHandlers(input.config)) {
    required.push(`${name}=${engineBinary(handler)}`);
    const install = handler.install;
    if (install.from === "package") {
      const pkg = enginePackage(handler.engine, install);
      packages.add(pkg.version ? `${pkg.name}=${pkg.version}` : pkg.name);
    } else if (install.from === "release") {
      for (const entry of releaseEntries(handler, install.version, input)) releases.set(entry.split("|")[0]!, entry);
    }
  }
  const summary = installedHandlers(input.config)
    .map(([name, handler]) => `${name} (${handler.engine}, ${describeInstall(handler)})`)
    .join(", ");
  return {
    node: input.node,
    id: STEP_IDS.ociRuntimes,
    phase: "install",
    summary: summary || "no runtime binaries to install",
    vars: {
      KP_DOWNLOAD_CACHE: input.downloads.cacheDir,
      KP_PACKAGES: [...packages].sort(),
      KP_RELEASES: [...releases.values()].sort(),
      KP_REQUIRED_BINARIES: required,
    },
    files: [],
    body: [script("oci-runtimes-install.sh")],
    dependsOn: [],
  };
}

function describeInstall(handler: InstalledHandler): string {
  const install = handler.install;
  switch (install.from) {
    case "package":
      return `package ${enginePackage(handler.engine, install).name}`;
    case "release":
      return `release ${install.version}`;
    case "preinstalled":
      return `preinstalled at ${install.path}`;
    default: {
      const never: never = install;
      throw new Error(`unhandled install ${JSON.stringify(never)}`);
    }
  }
}

/** Release downloads of one handler as `url|checksum|destination|member` (see oci-runtimes-install.sh). */
function releaseEntries(handler: InstalledHandler, version: string, input: ContainerdStepInput): string[] {
  const facts = engineFacts(handler.engine).release!;
  return facts.artifacts.map((name) => {
    const a = artifact(name, version, input);
    const line = (dest: string, member: string) => `${a.url}|${a.checksum}|${dest}|${member}`;
    switch (name) {
      case "youki":
        return line(facts.binary, "youki");
      case "kata-containers":
        return line("/", "/");
      case "gvisor-containerd-shim":
        return line("/usr/local/bin/containerd-shim-runsc-v1", "");
      default:
        return line(facts.binary, "");
    }
  });
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
      const release = artifact("containerd", config.version, input);
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
      KP_RUNTIME_BINARIES: installedHandlers(config).map(([name, handler]) => `${name}=${engineBinary(handler)}`),
    },
    files,
    body: [script("containerd-lib.sh"), script("containerd-configure.sh")],
    ...(hasSecret ? { secret: { description: `registry credentials for ${rendered.credentials.map((c) => c.host).join(", ")}` } } : {}),
    dependsOn: [STEP_IDS.ociRuntimes, STEP_IDS.containerdInstall],
  };
}
