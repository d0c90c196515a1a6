/** The CNI providers kubeplug deploys, by the `kind` of `kubeplug:network.provider`. */
export type CniProviderKind = "calico" | "cilium" | "flannel";

/** A chart in a classic Helm repository, pinned to one published version string. */
export interface ChartRef {
  readonly chart: string;
  readonly repo: string;
  /**
   * Exactly as the repository's index.yaml publishes it, leading "v" included: Helm looks for that
   * string before it falls back to semver matching (helm pkg/repo/index.go IndexFile.Get).
   */
  readonly version: string;
}

export interface ProviderRelease {
  readonly chart: ChartRef;
  /** CRDs the chart's own objects need, installed first as a chart of their own. */
  readonly crds?: ChartRef;
  /** Helm release name; templates derive object names from it. */
  readonly releaseName: string;
  /** The namespace the provider's documentation installs into. */
  readonly namespace: string;
  /** Whether the provider writes its own conflist on every node, so kubeplug's node side writes none. */
  readonly ownsConflist: boolean;
  /** The file the provider writes in the CNI conf dir (/etc/cni/net.d). */
  readonly conflistName: string;
  /**
   * Plugin binaries the provider writes into the CNI bin dir, overwriting what is there; kubeplug leaves
   * these to it (../shared/research/cni.md B1: Calico's cni-plugin Makefile CN_FILES, Cilium's
   * install-plugin.sh, flannel's install-cni init container).
   */
  readonly binaries: readonly string[];
}

const CALICO_VERSION = "v3.32.1";

/**
 * What kubeplug pins per provider. Sources (read at these tags, see test/fixtures/providers/<kind>/SOURCE.md):
 * - calico: projectcalico/calico v3.32.1 (0ca9d1b93644). Both charts are packaged with the git tag as
 *   version (Makefile `helm package --version $(GIT_VERSION)`). Since v3.32 tigera-operator carries no
 *   CRDs, yet it renders an Installation, so crd.projectcalico.org.v1 goes first (chart README). Conflist:
 *   tigera/operator v1.42.3 (the operator the chart pins) pkg/render/node.go `CNI_CONF_NAME` "10-calico.conflist".
 * - cilium: chart 1.20.0 from cilium/charts d5f3d1cc0ed8 (cilium-1.20.0.tgz, built from cilium/cilium
 *   450c53145dc0 = v1.20.0). Conflist: templates/cilium-configmap.yaml `write-cni-conf-when-ready:
 *   .../05-cilium.conflist`.
 * - flannel: flannel-io/flannel v0.28.9 (5cd0d52648e8), chart/kube-flannel (chart name `flannel`).
 *   Conflist: templates/daemonset.yaml, install-cni writes /etc/cni/net.d/10-flannel.conflist.
 */
export const PROVIDER_RELEASES: { readonly [K in CniProviderKind]: ProviderRelease } = {
  calico: {
    chart: { chart: "tigera-operator", repo: "https://docs.tigera.io/calico/charts", version: CALICO_VERSION },
    crds: { chart: "crd.projectcalico.org.v1", repo: "https://docs.tigera.io/calico/charts", version: CALICO_VERSION },
    releaseName: "calico",
    namespace: "tigera-operator",
    ownsConflist: true,
    conflistName: "10-calico.conflist",
    binaries: ["calico", "calico-ipam", "flannel", "host-local", "loopback", "portmap", "tuning"],
  },
  cilium: {
    chart: { chart: "cilium", repo: "https://helm.cilium.io", version: "1.20.0" },
    releaseName: "cilium",
    namespace: "kube-system",
    ownsConflist: true,
    conflistName: "05-cilium.conflist",
    binaries: ["cilium-cni"],
  },
  flannel: {
    chart: { chart: "flannel", repo: "https://flannel-io.github.io/flannel/", version: "v0.28.9" },
    releaseName: "flannel",
    namespace: "kube-flannel",
    ownsConflist: true,
    conflistName: "10-flannel.conflist",
    binaries: ["flannel"],
  },
};
