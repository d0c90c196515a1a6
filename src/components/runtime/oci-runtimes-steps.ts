import { Arch, ArtifactName, resolveArtifact, ResolvedArtifact } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { scriptAsset } from "../node/shell";
import { StepDefinition, StepNode } from "../node/step";
import { EngineHandler, engineBinary, engineFacts, enginePackage, isEngineHandler, needsKvm } from "../../catalog/engines";

export const OCI_RUNTIMES_STEP = "oci-runtimes-install";
/** nvidia-steps.ts: installs the NVIDIA Container Toolkit, whose binary this step then checks. */
export const NVIDIA_TOOLKIT_STEP = "nvidia-toolkit-install";

export interface OciRuntimesStepInput {
  readonly node: StepNode & { readonly arch: Arch };
  /** The pool's handlers by name; `custom` ones are the user's to install and are skipped. */
  readonly runtimes: Readonly<Record<string, { readonly engine: string }>>;
  readonly downloads: DownloadsConfig;
  /** Oldest version of an engine the CRI runtime can drive; checked on the node, whatever installed it. */
  readonly minVersions?: Readonly<Partial<Record<string, string>>>;
}

/** Handlers kubeplug installs a binary for, by name, in a stable order. */
export function engineHandlers(runtimes: OciRuntimesStepInput["runtimes"]): [string, EngineHandler][] {
  return Object.entries(runtimes)
    .filter((entry): entry is [string, EngineHandler] => isEngineHandler(entry[1]))
    .sort(([a], [b]) => a.localeCompare(b));
}

/** `name=binary` for each handler: every configure step checks these exist before it writes a config. */
export function requiredBinaries(runtimes: OciRuntimesStepInput["runtimes"]): string[] {
  return engineHandlers(runtimes).map(([name, handler]) => `${name}=${engineBinary(handler)}`);
}

/**
 * Installs the low-level runtimes of a pool (packages, verified release binaries), checks the ones
 * that are preinstalled or come with the CRI-O bundle, and checks /dev/kvm where a runtime needs it.
 */
export function ociRuntimesStep(input: OciRuntimesStepInput): StepDefinition {
  const packages = new Set<string>();
  const releases = new Map<string, string>();
  const kvm: string[] = [];
  const handlers = engineHandlers(input.runtimes);
  for (const [name, handler] of handlers) {
    const install = handler.install;
    // The NVIDIA Container Toolkit comes from its own repository, in the nvidia-toolkit-install step before this one.
    if (install.from === "package" && handler.engine !== "nvidia") {
      const pkg = enginePackage(handler.engine, install);
      packages.add(pkg.version ? `${pkg.name}=${pkg.version}` : pkg.name);
    } else if (install.from === "release") {
      for (const entry of releaseEntries(handler, install.version, input)) {
        releases.set(entry.split("|")[0]!, entry);
        if (entry.split("|")[0]!.endsWith(".zst")) packages.add("zstd");
      }
    }
    if (needsKvm(handler)) kvm.push(name);
  }
  const summary = handlers.map(([name, handler]) => `${name} (${handler.engine}, ${describeInstall(handler)})`).join(", ");
  return {
    node: input.node,
    id: OCI_RUNTIMES_STEP,
    phase: "install",
    summary: summary || "no runtime binaries to install",
    vars: {
      KP_DOWNLOAD_CACHE: input.downloads.cacheDir,
      KP_PACKAGES: [...packages].sort(),
      KP_RELEASES: [...releases.values()].sort(),
      KP_REQUIRED_BINARIES: handlers.filter(([, h]) => h.install.from !== "bundle").map(([name, h]) => `${name}=${engineBinary(h)}`),
      KP_KVM_HANDLERS: kvm,
      KP_MIN_VERSIONS: handlers.flatMap(([name, h]) => {
        const min = input.minVersions?.[h.engine];
        return min ? [`${name}=${engineBinary(h)}=${min}`] : [];
      }),
    },
    files: [],
    body: [scriptAsset(__dirname, "oci-runtimes-install.sh")],
    dependsOn: handlers.some(([, h]) => h.engine === "nvidia") ? [NVIDIA_TOOLKIT_STEP] : [],
  };
}

function describeInstall(handler: EngineHandler): string {
  const install = handler.install;
  switch (install.from) {
    case "package":
      return `package ${enginePackage(handler.engine, install).name}${handler.engine === "nvidia" ? " (nvidia-toolkit-install)" : ""}`;
    case "release":
      return `release ${install.version}`;
    case "preinstalled":
      return `preinstalled at ${install.path}`;
    case "bundle":
      return "from the CRI-O bundle";
    default: {
      const never: never = install;
      throw new Error(`unhandled install ${JSON.stringify(never)}`);
    }
  }
}

/** A release artifact the config checks already resolved; failing here is a bug, not bad input. */
export function resolveStepArtifact(name: ArtifactName, version: string, input: { readonly node: { readonly arch: Arch }; readonly downloads: DownloadsConfig }): ResolvedArtifact {
  const lookup = resolveArtifact(name, version, input.node.arch, input.downloads);
  if (!lookup.ok) throw new Error(`${lookup.reason} (the config checks should have caught this)`);
  return lookup.artifact;
}

/** Release downloads of one handler as `url|checksum|destination|member` (see oci-runtimes-install.sh). */
function releaseEntries(handler: EngineHandler, version: string, input: OciRuntimesStepInput): string[] {
  const facts = engineFacts(handler.engine).release!;
  return facts.artifacts.map((name) => {
    const a = resolveStepArtifact(name, version, input);
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
