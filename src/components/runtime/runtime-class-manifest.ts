import { RuntimeClass as RuntimeClassModel } from "kubernetes-models/node.k8s.io/v1/RuntimeClass";
import { RuntimeClassSpec } from "../../config/runtime-class-selection";

/** The RuntimeClass object, checked against the Kubernetes schema (kubernetes-models). */
export function runtimeClassManifest(spec: Omit<RuntimeClassSpec, "nodes">): RuntimeClassModel {
  const model = new RuntimeClassModel({
    metadata: { name: spec.name, labels: { "app.kubernetes.io/managed-by": "kubeplug" } },
    handler: spec.handler,
    ...(spec.nodeSelector ? { scheduling: { nodeSelector: { ...spec.nodeSelector } } } : {}),
    ...(spec.overhead ? { overhead: { podFixed: { ...spec.overhead } as Record<string, string> } } : {}),
  });
  model.validate();
  return model;
}
