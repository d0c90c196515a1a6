import { PROVIDER_RELEASES, ProviderRelease } from "../catalog/cni-providers";
import { CniProviderSettings } from "../config/cni-provider";
import { HelmValues, providerValues } from "../components/network/providers/values";

/** A CNI provider as the cluster deploys it: settings, the pinned release and the Helm values. */
export interface CniProviderPlan {
  readonly settings: CniProviderSettings;
  readonly release: ProviderRelease;
  readonly values: HelmValues;
}

export function planCniProvider(settings: CniProviderSettings): CniProviderPlan {
  return { settings, release: PROVIDER_RELEASES[settings.kind], values: providerValues(settings) };
}
