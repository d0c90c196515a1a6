import { Arch, ArtifactName, ResolvedArtifact } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { RenderedFile } from "../node/files";
import { withInstallReceipt } from "../node/receipt";
import { StepDefinition, StepNode } from "../node/step";
import { resolveStepArtifact } from "./oci-runtimes-steps";

type ScriptVar = string | string[];

/** How a CRI daemon reaches the node: the three install sources every runtime kind offers. */
export type DaemonInstall =
  | { readonly from: "package"; readonly name: string; readonly version?: string | undefined }
  | { readonly from: "release"; readonly prefix: string }
  | { readonly from: "preinstalled" };

export interface DaemonInstallInput {
  readonly node: StepNode & { readonly arch: Arch };
  readonly downloads: DownloadsConfig;
  readonly id: string;
  /** "containerd", "CRI-O": for the plan. */
  readonly label: string;
  readonly version: string;
  readonly install: DaemonInstall;
  readonly artifact: ArtifactName;
  /** Variables of the step besides the install ones (service, addresses). */
  readonly vars: Readonly<Record<string, ScriptVar>>;
  /** What a release install adds: which files of the archive go where, the unit, the plan line. */
  readonly release: (artifact: ResolvedArtifact, prefix: string) => { vars: Record<string, ScriptVar>; files: RenderedFile[]; summary: string };
  readonly body: readonly string[];
}

/** The apt spec kp_apt_install gets: `name=version-glob`. */
export function daemonPackageSpec(install: Extract<DaemonInstall, { from: "package" }>, version: string): string {
  // Without an exact version, the glob still pins the upstream release the config is rendered for.
  return `${install.name}=${install.version ?? `${version}*`}`;
}

/** The install step of a CRI daemon: the package (version-globbed), the verified release, or a check only. */
export function daemonInstallStep(input: DaemonInstallInput): StepDefinition {
  const { install, version, label } = input;
  const vars: Record<string, ScriptVar> = {
    ...input.vars,
    KP_INSTALL_FROM: install.from,
    KP_DOWNLOAD_CACHE: input.downloads.cacheDir,
    KP_PACKAGE: "",
    KP_RELEASE_URL: "",
    KP_RELEASE_CHECKSUM: "",
  };
  let files: RenderedFile[] = [];
  let summary: string;
  switch (install.from) {
    case "package":
      vars.KP_PACKAGE = daemonPackageSpec(install, version);
      summary = `${label} ${version} from package ${vars.KP_PACKAGE}`;
      break;
    case "release": {
      const artifact = resolveStepArtifact(input.artifact, version, input);
      const release = input.release(artifact, install.prefix);
      Object.assign(vars, { KP_RELEASE_URL: artifact.url, KP_RELEASE_CHECKSUM: artifact.checksum }, release.vars);
      files = release.files;
      summary = release.summary;
      break;
    }
    case "preinstalled":
      summary = `${label} ${version}, preinstalled (version checked)`;
      break;
    default: {
      const never: never = install;
      throw new Error(`unhandled install ${JSON.stringify(never)}`);
    }
  }
  return withInstallReceipt({ node: input.node, id: input.id, phase: "install", summary, vars, files, body: input.body, dependsOn: [] });
}
