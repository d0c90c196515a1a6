import { AptRepository, engineBinary, EngineHandler, enginePackage, NVIDIA_DRIVER_PROC } from "../../catalog/engines";
import { RenderedFile } from "../node/files";
import { scriptAsset } from "../node/shell";
import { StepDefinition, StepNode } from "../node/step";
import { engineHandlers, NVIDIA_TOOLKIT_STEP } from "./oci-runtimes-steps";

export { NVIDIA_TOOLKIT_STEP };

/** Where the toolkit's apt source and its key go; apt trusts the key for this source only (Signed-By). */
export const NVIDIA_APT_SOURCES = "/etc/apt/sources.list.d/kubeplug-nvidia-container-toolkit.sources";
export const NVIDIA_APT_KEYRING = "/etc/apt/keyrings/kubeplug-nvidia-container-toolkit.asc";

export interface NvidiaStepInput {
  readonly node: StepNode;
  readonly runtimes: Readonly<Record<string, { readonly engine: string }>>;
}

/** The pool's nvidia handlers by name, in a stable order. */
export function nvidiaHandlers(runtimes: NvidiaStepInput["runtimes"]): [string, EngineHandler][] {
  return engineHandlers(runtimes).filter(([, handler]) => handler.engine === "nvidia");
}

/**
 * The deb822 source of a repository (sources.list(5)). A flat repository (suite ending in "/", as NVIDIA's
 * `stable/deb/<arch> /`) has no Components line; the config checks refuse the other combinations.
 */
export function aptSourcesFile(repository: AptRepository, handlers: readonly string[]): string {
  return [
    `# Managed by kubeplug: the NVIDIA Container Toolkit's repository, for runtime handler(s) ${handlers.join(", ")}.`,
    "Types: deb",
    `URIs: ${repository.url}`,
    `Suites: ${repository.suite}`,
    ...(repository.components.length > 0 ? [`Components: ${repository.components.join(" ")}`] : []),
    `Signed-By: ${NVIDIA_APT_KEYRING}`,
    "",
  ].join("\n");
}

/**
 * Before any runtime binary is installed: checks that the node has the NVIDIA driver loaded (kubeplug does not
 * install drivers), writes the toolkit's apt source and key, and installs the toolkit package; for a preinstalled
 * toolkit, checks the binary is there. Undefined when the pool has no nvidia handler.
 */
export function nvidiaToolkitStep(input: NvidiaStepInput): StepDefinition | undefined {
  const handlers = nvidiaHandlers(input.runtimes);
  if (handlers.length === 0) return undefined;
  const names = handlers.map(([name]) => name);
  const packages = new Set<string>();
  let repository: AptRepository | undefined;
  for (const [, handler] of handlers) {
    const install = handler.install;
    if (install.from !== "package") continue;
    // The checks make every nvidia handler of a pool name the same repository.
    repository ??= install.repository;
    const pkg = enginePackage("nvidia", install);
    packages.add(pkg.version ? `${pkg.name}=${pkg.version}` : pkg.name);
  }
  const files: RenderedFile[] = repository
    ? [
        { path: NVIDIA_APT_KEYRING, content: repository.signingKey.endsWith("\n") ? repository.signingKey : `${repository.signingKey}\n`, mode: 0o644 },
        { path: NVIDIA_APT_SOURCES, content: aptSourcesFile(repository, names), mode: 0o644 },
      ]
    : [];
  const source = repository ? `from ${repository.url} ${repository.suite}${repository.components.length > 0 ? ` ${repository.components.join(" ")}` : ""}` : "preinstalled";
  return {
    node: input.node,
    id: NVIDIA_TOOLKIT_STEP,
    phase: "install",
    summary: `NVIDIA driver check; NVIDIA Container Toolkit ${source} for handler(s) ${names.join(", ")}`,
    vars: {
      KP_NVIDIA_HANDLERS: names,
      KP_NVIDIA_DRIVER_PROC: NVIDIA_DRIVER_PROC,
      KP_APT_FILES: files.map((f) => f.path),
      KP_PACKAGES: [...packages].sort(),
      KP_REQUIRED_BINARIES: handlers.map(([name, h]) => `${name}=${engineBinary(h)}`),
    },
    files,
    body: [scriptAsset(__dirname, "nvidia-toolkit-install.sh")],
    dependsOn: [],
  };
}
