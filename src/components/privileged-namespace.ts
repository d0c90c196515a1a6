import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * A namespace labelled for privileged pods: CNI agents and CSI node plugins run with hostNetwork, host
 * paths and privileged containers, which the baseline and restricted Pod Security levels forbid.
 */
export function privilegedNamespace(name: string, namespace: string, parent: pulumi.Resource, dependsOn: readonly pulumi.Resource[]): k8s.core.v1.Namespace {
  return new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "privileged" } } }, { parent, dependsOn: [...dependsOn] });
}
