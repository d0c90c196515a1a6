import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { RecordedResources, recordResources } from "../../support/pulumi-mocks";
import { CniProvider } from "../../../src/components/network/providers/provider";
import { parseCniProvider } from "../../../src/config/cni-provider";
import { providerValues } from "../../../src/components/network/providers/values";
import { KubeplugConfigError } from "../../../src/errors";

// Mocks stand in for the Pulumi engine: a helm.v4.Chart registers with its full inputs and nothing is
// downloaded, so these tests see the pinned coordinates and the values the chart would get. Parents
// and dependencies come from a stack transformation, as in test/support/pulumi-mocks.ts.

const CHART = "kubernetes:helm.sh/v4:Chart";
const NAMESPACE = "kubernetes:core/v1:Namespace";

let recorded: RecordedResources;
const byName = (name: string) => recorded.all().filter((r) => r.name === name);
const chartNamed = (name: string) => recorded.ofType(CHART).find((r) => r.name === name)!;
const providers: Record<string, CniProvider> = {};

beforeAll(async () => {
  ({ recorded } = await recordResources("providers", () => {
    // Stands for the node steps a provider waits for (runtime and CNI plugins installed).
    const nodesReady = new pulumi.ComponentResource("kubeplug:test:NodesReady", "nodes-ready");
    providers.calico = new CniProvider("calico", { settings: { kind: "calico", podCIDR: "10.244.0.0/16", encapsulation: "VXLAN", bgp: false, mtu: 1450 }, dependsOn: [nodesReady] });
    providers.cilium = new CniProvider("cilium", {
      settings: { kind: "cilium", podCIDR: "10.244.0.0/16", routing: "geneve", kubeProxyReplacement: true, k8sServiceHost: "10.231.0.11", k8sServicePort: 6443 },
    });
    providers.flannel = new CniProvider("flannel", { settings: { kind: "flannel", podCIDR: "10.244.0.0/16", backend: "wireguard", mtu: 1420 }, namespace: "cni", createNamespace: false });
    return {};
  }));
  // Charts register once their dependencies have, after the stack callback returned.
  await recorded.settled(({ ofType }) => {
    for (const r of [...ofType(CHART), ...ofType(NAMESPACE)]) expect(r.inputs, r.name).not.toEqual({});
    expect(ofType(CHART)).toHaveLength(4);
  });
});

describe("CniProvider under Pulumi mocks", () => {
  it.each([
    ["calico", "tigera-operator", "https://docs.tigera.io/calico/charts", "v3.32.1", "calico", "tigera-operator"],
    ["cilium", "cilium", "https://helm.cilium.io", "1.20.0", "cilium", "kube-system"],
    ["flannel", "flannel", "https://flannel-io.github.io/flannel/", "v0.28.9", "flannel", "cni"],
  ])("%s: a %s Chart from %s pinned to %s", (name, chart, repo, version, release, namespace) => {
    const sameName = byName(name).filter((r) => r.type !== "kubeplug:network:CniProvider");
    expect(sameName.map((r) => r.type)).toEqual(["kubernetes:helm.sh/v4:Chart"]);
    const registeredChart = sameName[0]!;
    expect(registeredChart.parent).toBe(name);
    expect(registeredChart.inputs).toMatchObject({ chart, repositoryOpts: { repo }, version, name: release, namespace });
    // Exactly one published version: no range, no "latest". Calico and Flannel publish theirs with a "v".
    expect(registeredChart.inputs.version).toMatch(/^v?\d+\.\d+\.\d+$/);
    expect(providers[name]!.namespace).toBe(namespace);
  });

  it("passes the typed values to each chart unchanged", () => {
    expect(chartNamed("calico").inputs.values).toEqual({
      installation: { calicoNetwork: { bgp: "Disabled", mtu: 1450, ipPools: [{ cidr: "10.244.0.0/16", encapsulation: "VXLAN", natOutgoing: "Enabled" }] } },
    });
    expect(chartNamed("cilium").inputs.values).toEqual({
      ipam: { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: ["10.244.0.0/16"] } },
      routingMode: "tunnel",
      tunnelProtocol: "geneve",
      kubeProxyReplacement: true,
      k8sServiceHost: "10.231.0.11",
      k8sServicePort: 6443,
      cni: { exclusive: true },
    });
    expect(chartNamed("flannel").inputs.values).toEqual({ podCidr: "10.244.0.0/16", flannel: { backend: "wireguard", mtu: 1420 } });
    for (const [name, provider] of Object.entries(providers)) {
      expect(chartNamed(name).inputs.values).toEqual(provider.values);
      expect(provider.values).toEqual(providerValues(parseCniProvider(provider.settings)));
    }
  });

  it("installs Calico's CRD chart first, at the same version", () => {
    const crds = chartNamed("calico-crds");
    expect(crds.inputs).toMatchObject({ chart: "crd.projectcalico.org.v1", repositoryOpts: { repo: "https://docs.tigera.io/calico/charts" }, version: "v3.32.1" });
    expect(crds.inputs.values ?? {}).toEqual({});
    expect(providers.calico!.crdChart).toBeDefined();
    expect(chartNamed("calico").dependsOn).toContain("calico-crds");
    expect(providers.cilium!.crdChart).toBeUndefined();
  });

  it("creates the release namespace labelled privileged, except kube-system and when told not to", () => {
    const namespaces = recorded.all().filter((r) => r.type === NAMESPACE);
    expect(namespaces.map((n) => n.name)).toEqual(["calico-namespace"]);
    expect(namespaces[0]!.inputs.metadata).toEqual({ name: "tigera-operator", labels: { "pod-security.kubernetes.io/enforce": "privileged" } });
    expect(chartNamed("calico").dependsOn).toContain("calico-namespace");
  });

  it("makes every child wait for the given dependencies", () => {
    expect(chartNamed("calico").dependsOn).toEqual(["nodes-ready", "calico-namespace", "calico-crds"]);
    expect(chartNamed("calico-crds").dependsOn).toEqual(["nodes-ready"]);
    expect(byName("calico-namespace")[0]!.dependsOn).toEqual(["nodes-ready"]);
    expect(chartNamed("cilium").dependsOn).toEqual([]);
  });

  it("says which conflist each provider writes, so the node side writes none", () => {
    const facts = Object.fromEntries(Object.entries(providers).map(([name, p]) => [name, [p.ownsConflist, p.conflistName]]));
    expect(facts).toEqual({
      calico: [true, "10-calico.conflist"],
      cilium: [true, "05-cilium.conflist"],
      flannel: [true, "10-flannel.conflist"],
    });
  });

  it("registers under the kubeplug:network:CniProvider type", () => {
    expect(recorded.get("kubeplug:network:CniProvider", "cilium")?.parent).toBeUndefined();
    expect(recorded.all().filter((r) => r.type === "kubeplug:network:CniProvider").map((r) => r.name)).toEqual(["calico", "cilium", "flannel"]);
  });

  it("refuses bad settings before registering anything", () => {
    const before = recorded.all().length;
    expect(() => new CniProvider("bad", { settings: { kind: "cilium", podCIDR: "10.244.0.0/16", kubeProxyReplacement: true } })).toThrow(KubeplugConfigError);
    expect(recorded.all()).toHaveLength(before);
  });
});
