import { Arch } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { CrioConfig } from "../../config/crio";
import { RenderedFile } from "../node/files";
import { scriptAsset } from "../node/shell";
import { StepDefinition, StepNode } from "../node/step";
import { BUNDLE_FILES, BUNDLE_POLICY, crioUnit } from "./crio-bundle";
import { CRICTL_YAML, CRIO_AUTH_FILE, CRIO_DROP_IN, CRIO_REGISTRIES, CRIO_SOCKET, RenderedCrio } from "./crio-render";
import { CRIO_CONMON } from "./oci-runtimes";
import { OCI_RUNTIMES_STEP, ociRuntimesStep, requiredBinaries, resolveStepArtifact } from "./oci-runtimes-steps";

export const CRIO_STEP_IDS = { ociRuntimes: OCI_RUNTIMES_STEP, install: "crio-install", configure: "crio-configure" } as const;

/** Seconds CRI-O gets to answer on its socket after a (re)start. */
const START_TIMEOUT = 60;

const script = (name: string) => scriptAsset(__dirname, name);

export interface CrioStepInput {
  readonly node: StepNode & { readonly arch: Arch };
  readonly config: CrioConfig;
  readonly rendered: RenderedCrio;
  readonly downloads: DownloadsConfig;
}

const common = (config: CrioConfig) => ({
  KP_CRIO_VERSION: config.version,
  KP_CRIO_SOCKET: CRIO_SOCKET,
  KP_CRIO_START_TIMEOUT: String(START_TIMEOUT),
});

/** The node steps that install and configure CRI-O, in dependency order. */
export function crioSteps(input: CrioStepInput): StepDefinition[] {
  return [ociRuntimesStep({ node: input.node, runtimes: input.config.runtimes, downloads: input.downloads }), installStep(input), configureStep(input)];
}

function installStep(input: CrioStepInput): StepDefinition {
  const { config } = input;
  const install = config.install;
  const vars: Record<string, string | string[]> = {
    ...common(config),
    KP_INSTALL_FROM: install.from,
    KP_DOWNLOAD_CACHE: input.downloads.cacheDir,
    KP_PACKAGE: "",
    KP_RELEASE_URL: "",
    KP_RELEASE_CHECKSUM: "",
    KP_BUNDLE_FILES: [],
    KP_BUNDLE_POLICY: BUNDLE_POLICY,
  };
  const files: RenderedFile[] = [];
  let summary: string;
  switch (install.from) {
    case "release": {
      const bundle = resolveStepArtifact("cri-o", config.version, input);
      Object.assign(vars, {
        KP_RELEASE_URL: bundle.url,
        KP_RELEASE_CHECKSUM: bundle.checksum,
        KP_BUNDLE_FILES: BUNDLE_FILES.map((f) => `${f.member}|${f.dest(install.prefix)}|${f.mode}`),
      });
      files.push({ path: "/etc/systemd/system/crio.service", content: crioUnit(install.prefix), mode: 0o644 });
      summary = `CRI-O ${config.version} from the release bundle ${bundle.fileName}`;
      break;
    }
    case "package":
      vars.KP_PACKAGE = `${install.name}=${install.version ?? `${config.version}*`}`;
      summary = `CRI-O ${config.version} from package ${vars.KP_PACKAGE}`;
      break;
    case "preinstalled":
      summary = `CRI-O ${config.version}, preinstalled (checked)`;
      break;
    default: {
      const never: never = install;
      throw new Error(`unhandled install ${JSON.stringify(never)}`);
    }
  }
  return {
    node: input.node,
    id: CRIO_STEP_IDS.install,
    phase: "install",
    summary,
    vars,
    files,
    body: [script("crio-lib.sh"), script("crio-install.sh")],
    dependsOn: [],
  };
}

function configureStep(input: CrioStepInput): StepDefinition {
  const { config, rendered } = input;
  const hasSecret = rendered.credentials.length > 0;
  const handlers = Object.keys(config.runtimes).sort().join(", ");
  const registries = Object.keys(config.registries.hosts).length;
  return {
    node: input.node,
    id: CRIO_STEP_IDS.configure,
    phase: "configure",
    summary: `CRI-O ${config.version} drop-in; handlers ${handlers}; ${registries} registr${registries === 1 ? "y" : "ies"}`,
    vars: {
      ...common(config),
      KP_CRIO_DROP_IN: CRIO_DROP_IN,
      KP_CRIO_REGISTRIES: CRIO_REGISTRIES,
      KP_CRICTL_YAML: CRICTL_YAML,
      KP_CRIO_AUTH_FILE: CRIO_AUTH_FILE,
      KP_CRIO_CONMON: CRIO_CONMON,
      KP_HAS_SECRET: hasSecret ? "1" : "0",
      KP_RUNTIME_BINARIES: requiredBinaries(config.runtimes),
    },
    files: [rendered.dropIn, rendered.registriesConf, rendered.crictlYaml],
    body: [script("crio-lib.sh"), script("crio-configure.sh")],
    ...(hasSecret ? { secret: { description: `registry credentials for ${rendered.credentials.map((c) => c.registry).join(", ")} (auth.json)` } } : {}),
    dependsOn: [CRIO_STEP_IDS.ociRuntimes, CRIO_STEP_IDS.install],
  };
}
