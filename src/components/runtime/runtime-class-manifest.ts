import { IRuntimeClass, RuntimeClass as RuntimeClassModel } from "kubernetes-models/node.k8s.io/v1/RuntimeClass";
import { RuntimeClassSpec } from "../../config/runtime-class-selection";

/** A planned RuntimeClass: where it may schedule, and the object the Kubernetes API receives. */
export interface PlannedRuntimeClass extends RuntimeClassSpec {
  readonly manifest: IRuntimeClass;
}

/** Renders the RuntimeClass object, checked against the Kubernetes schema (kubernetes-models). */
export function withManifest(spec: RuntimeClassSpec): PlannedRuntimeClass {
  const model = new RuntimeClassModel({
    metadata: { name: spec.name, labels: { "app.kubernetes.io/managed-by": "kubeplug" } },
    handler: spec.handler,
    ...(spec.nodeSelector ? { scheduling: { nodeSelector: { ...spec.nodeSelector } } } : {}),
    ...(spec.overhead ? { overhead: { podFixed: { ...spec.overhead } as Record<string, string> } } : {}),
  });
  model.validate();
  return { ...spec, manifest: model.toJSON() };
}
