import { Arch } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { CrioConfig } from "../../config/crio";
import { scriptAsset } from "../node/shell";
import { credentialsFingerprint, serviceStepParts, StepDefinition, StepNode } from "../node/step";
import { BUNDLE_FILES, BUNDLE_POLICY, crioUnit } from "./crio-bundle";
import { CRICTL_YAML, CRIO_AUTH_FILE, CRIO_DROP_IN, CRIO_REGISTRIES, CRIO_SOCKET, RenderedCrio } from "./crio-render";
import { CRIO_CONMON } from "./oci-runtimes";
import { daemonInstallStep } from "./daemon-install";
import { unitFilePath, unitLimitsVars } from "./unit-limits";
import { OCI_RUNTIMES_STEP, ociRuntimesStep, requiredBinaries } from "./oci-runtimes-steps";
import { nvidiaToolkitStep } from "./nvidia-steps";

export const CRIO_STEP_IDS = { ociRuntimes: OCI_RUNTIMES_STEP, install: "crio-install", configure: "crio-configure" } as const;

export const CRIO_UNIT = "crio";

/** CRI-O's health: the unit and a CRI version call (crio_healthy in crio-lib.sh). */
const service = (config: CrioConfig) => serviceStepParts(CRIO_UNIT, config.version, "crio_healthy");

const script = (name: string) => scriptAsset(__dirname, name);

export interface CrioStepInput {
  readonly node: StepNode & { readonly arch: Arch };
  readonly config: CrioConfig;
  readonly rendered: RenderedCrio;
  readonly downloads: DownloadsConfig;
}

const common = (config: CrioConfig) => ({ ...service(config).vars, KP_CRIO_SOCKET: CRIO_SOCKET });

/** The node steps that install and configure CRI-O, in dependency order. */
export function crioSteps(input: CrioStepInput): StepDefinition[] {
  const nvidia = nvidiaToolkitStep({ node: input.node, runtimes: input.config.runtimes });
  return [...(nvidia ? [nvidia] : []), ociRuntimesStep({ node: input.node, runtimes: input.config.runtimes, downloads: input.downloads }), installStep(input), configureStep(input)];
}

function installStep(input: CrioStepInput): StepDefinition {
  const { config } = input;
  return daemonInstallStep({
    node: input.node,
    downloads: input.downloads,
    id: CRIO_STEP_IDS.install,
    label: "CRI-O",
    version: config.version,
    install: config.install,
    artifact: "cri-o",
    vars: { ...common(config), KP_BUNDLE_FILES: [], KP_BUNDLE_POLICY: BUNDLE_POLICY },
    release: (bundle, prefix) => ({
      vars: { KP_BUNDLE_FILES: BUNDLE_FILES.map((f) => `${f.member}|${f.dest(prefix)}|${f.mode}`) },
      files: [{ path: unitFilePath(CRIO_UNIT), content: crioUnit(prefix), mode: 0o644 }],
      summary: `CRI-O ${config.version} from the release bundle ${bundle.fileName}`,
    }),
    body: [script("crio-lib.sh"), service(config).library, script("crio-install.sh")],
  });
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
      ...unitLimitsVars(CRIO_UNIT, rendered.unitLimits),
    },
    files: [rendered.dropIn, rendered.registriesConf, rendered.crictlYaml, ...(rendered.unitLimits ? [rendered.unitLimits] : [])],
    body: [script("crio-lib.sh"), service(config).library, script("crio-configure.sh")],
    ...(hasSecret ? { secret: { description: `registry credentials for ${rendered.credentials.map((c) => c.registry).join(", ")} (auth.json)`, fingerprint: credentialsFingerprint(rendered.credentials) } } : {}),
    dependsOn: [CRIO_STEP_IDS.ociRuntimes, CRIO_STEP_IDS.install],
  };
}
