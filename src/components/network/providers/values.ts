import type { CalicoSettings, CiliumSettings, CniProviderSettings, FlannelSettings } from "../../../config/cni-provider";

/** Helm values as plain data: what Pulumi passes to the chart and what the plan shows. */
export type HelmValue = string | number | boolean | HelmValue[] | { [key: string]: HelmValue };
export type HelmValues = { [key: string]: HelmValue };

const enabled = (on: boolean) => (on ? "Enabled" : "Disabled");

/**
 * tigera-operator renders `installation` (minus `enabled`) verbatim as the Installation spec, so these
 * keys are operator.tigera.io/v1 InstallationSpec fields. Left out: blockSize (26) and nodeSelector
 * (all()), which the operator defaults.
 */
export function calicoValues(s: CalicoSettings): HelmValues {
  return {
    installation: {
      calicoNetwork: {
        bgp: enabled(s.bgp),
        ...(s.mtu !== undefined ? { mtu: s.mtu } : {}),
        ipPools: [{ cidr: s.podCIDR, encapsulation: s.encapsulation, natOutgoing: enabled(s.natOutgoing) }],
      },
    },
  };
}

export function ciliumValues(s: CiliumSettings): HelmValues {
  const routing: HelmValues =
    s.routing === "native"
      ? // Native routing with masquerading (the agent's default) needs the CIDR routed without it, or the
        // agent refuses to start ("native routing cidr must be configured"); pods reach each other
        // directly, so that is the pod CIDR. Direct node routes make it work on one L2 segment.
        { routingMode: "native", ipv4NativeRoutingCIDR: s.podCIDR, autoDirectNodeRoutes: true }
      : { routingMode: "tunnel", tunnelProtocol: s.routing };
  return {
    ipam: { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: [s.podCIDR] } },
    ...routing,
    ...(s.mtu !== undefined ? { MTU: s.mtu } : {}),
    // The chart's configmap template fails unless this renders as "true" or "false".
    kubeProxyReplacement: s.kubeProxyReplacement,
    ...(s.k8sServiceHost !== undefined && s.k8sServicePort !== undefined ? { k8sServiceHost: s.k8sServiceHost, k8sServicePort: s.k8sServicePort } : {}),
    cni: { exclusive: s.exclusive },
  };
}

export function flannelValues(s: FlannelSettings): HelmValues {
  return { podCidr: s.podCIDR, flannel: { backend: s.backend, ...(s.mtu !== undefined ? { mtu: s.mtu } : {}) } };
}

export function providerValues(settings: CniProviderSettings): HelmValues {
  switch (settings.kind) {
    case "calico":
      return calicoValues(settings);
    case "cilium":
      return ciliumValues(settings);
    case "flannel":
      return flannelValues(settings);
  }
}
