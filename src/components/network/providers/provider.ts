import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ChartRef } from "../../../catalog/cni-providers";
import { CniProviderSettings } from "../../../config/cni-provider";
import { CniProviderInput } from "../../../config/input-types";
import { planCniProviderComponent } from "../../../plan/component-plans";
import { CniProviderPlan } from "../../../plan/network-plan";
import { HelmValues } from "./values";
import { privilegedNamespace } from "../../privileged-namespace";

interface CniProviderOptions {
  /** Namespace of the Helm release; default: tigera-operator (Calico), kube-system (Cilium), kube-flannel (Flannel). */
  readonly namespace?: string;
  /**
   * Create the namespace, labelled for privileged pods (the agents and the Tigera operator run with
   * hostNetwork, which the baseline and restricted Pod Security levels forbid). Default: true unless
   * the namespace is kube-system. Set false when something else creates it.
   */
  readonly createNamespace?: boolean;
  /** What the provider's resources wait for, e.g. the node steps that install the runtime and CNI plugins. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

export interface CniProviderArgs extends CniProviderOptions {
  /** Provider settings as in `kubeplug:network.provider`; parsed here, so defaults may be left out. */
  readonly settings: CniProviderInput;
}

/** A provider planCluster has already validated and planned: what Cluster passes. */
export interface PlannedCniProviderArgs extends CniProviderOptions {
  readonly fromPlan: CniProviderPlan;
}

/**
 * A CNI provider deployed from its pinned Helm chart (helm.v4.Chart: Pulumi renders the templates and
 * manages the objects). The provider writes its own conflist on every node (`conflistName`), so
 * kubeplug's node side must write none and can say so in the plan.
 */
export class CniProvider extends pulumi.ComponentResource {
  readonly settings: CniProviderSettings;
  readonly values: HelmValues;
  readonly namespace: string;
  readonly ownsConflist: boolean;
  readonly conflistName: string;
  readonly chart: k8s.helm.v4.Chart;
  /** The CRD chart installed before `chart` (Calico only). */
  readonly crdChart: k8s.helm.v4.Chart | undefined;

  constructor(name: string, args: CniProviderArgs | PlannedCniProviderArgs, opts?: pulumi.ComponentResourceOptions) {
    // Planned before super(): bad settings must fail before anything registers with the engine.
    const { settings, release, values } = "fromPlan" in args ? args.fromPlan : planCniProviderComponent(args.settings);
    super("kubeplug:network:CniProvider", name, {}, opts);
    this.settings = settings;
    this.values = values;
    this.namespace = args.namespace ?? release.namespace;
    this.ownsConflist = release.ownsConflist;
    this.conflistName = release.conflistName;

    const waitFor = [...(args.dependsOn ?? [])];
    const chartDeps = [...waitFor];
    if (args.createNamespace ?? this.namespace !== "kube-system") {
      chartDeps.push(privilegedNamespace(name, this.namespace, this, waitFor));
    }
    this.crdChart = release.crds && new k8s.helm.v4.Chart(`${name}-crds`, chartArgs(release.crds, `${release.releaseName}-crds`), { parent: this, dependsOn: waitFor });
    if (this.crdChart) chartDeps.push(this.crdChart);
    this.chart = new k8s.helm.v4.Chart(
      name,
      { ...chartArgs(release.chart, release.releaseName), namespace: this.namespace, values: this.values },
      { parent: this, dependsOn: chartDeps },
    );
    this.registerOutputs({ values: this.values, namespace: this.namespace, ownsConflist: this.ownsConflist, conflistName: this.conflistName });
  }
}

function chartArgs(ref: ChartRef, releaseName: string): k8s.helm.v4.ChartArgs {
  return { chart: ref.chart, repositoryOpts: { repo: ref.repo }, version: ref.version, name: releaseName };
}
