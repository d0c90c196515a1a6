import { Arch } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { CniPluginsInstall, NetworkConfig } from "../../config/network";
import { wantedPlugins } from "../../config/network-checks";
import { withInstallReceipt } from "../node/receipt";
import { scriptAsset } from "../node/shell";
import { StepDefinition, StepNode } from "../node/step";
import { resolveStepArtifact } from "../runtime/oci-runtimes-steps";

export const CNI_PLUGINS_STEP = "cni-plugins-install";

/** The apt spec kp_apt_install gets: any Debian revision of the upstream version. */
export function cniPackageSpec(install: Extract<CniPluginsInstall, { from: "package" }>): string {
  return `${install.name}=${install.version}*`;
}

/**
 * Installs the wanted reference plugins into binDir, each atomically, from the pinned release tarball
 * (verified before anything is written) or from the distro package's directory. Plugins kubeplug
 * installed earlier and no longer wants are removed; binaries it never installed (a provider's) are
 * never touched.
 */
export function cniPluginsStep(network: NetworkConfig, node: StepNode & { readonly arch: Arch }, downloads: DownloadsConfig): StepDefinition {
  const install = network.cni.plugins.install;
  const wanted = wantedPlugins(network).sort();
  const vars: Record<string, string | string[]> = {
    KP_CNI_BIN_DIR: network.cni.binDir,
    KP_INSTALL_FROM: install.from,
    KP_DOWNLOAD_CACHE: downloads.cacheDir,
    KP_RELEASE_URL: "",
    KP_RELEASE_CHECKSUM: "",
    KP_PACKAGE: "",
    KP_PACKAGE_DIR: "",
    KP_WANTED: wanted,
  };
  let source: string;
  switch (install.from) {
    case "release": {
      const tarball = resolveStepArtifact("cni-plugins", install.version, { node, downloads });
      Object.assign(vars, { KP_RELEASE_URL: tarball.url, KP_RELEASE_CHECKSUM: tarball.checksum });
      source = `release ${install.version}`;
      break;
    }
    case "package":
      Object.assign(vars, { KP_PACKAGE: cniPackageSpec(install), KP_PACKAGE_DIR: install.libDir });
      source = `package ${cniPackageSpec(install)}`;
      break;
    case "none":
      source = "installed by something else";
      break;
    default: {
      const never: never = install;
      throw new Error(`unhandled install ${JSON.stringify(never)}`);
    }
  }
  return withInstallReceipt({
    node,
    id: CNI_PLUGINS_STEP,
    phase: "install",
    summary: `${wanted.length} CNI plugin(s) into ${network.cni.binDir} from ${source}`,
    vars,
    files: [],
    body: [scriptAsset(__dirname, "cni-plugins-install.sh")],
    dependsOn: [],
  });
}
