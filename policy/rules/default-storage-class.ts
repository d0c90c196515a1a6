import { StackValidationPolicy } from "@pulumi/policy";
import { kubernetesObjects } from "../resources";

const DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";

export const oneDefaultStorageClass: StackValidationPolicy = {
  name: "kubeplug-one-default-storage-class",
  description: "At most one StorageClass of the stack is the cluster default: with two, Kubernetes picks the newest for claims without a class.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const defaults = args.resources.flatMap((resource) =>
      kubernetesObjects(resource.type, resource.props)
        .filter((o) => o.kind === "StorageClass" && ((o.metadata as { annotations?: Record<string, unknown> } | undefined)?.annotations?.[DEFAULT_CLASS] === "true"))
        .map((o) => ({ resource, name: String((o.metadata as { name?: string }).name ?? resource.name) })),
    );
    if (defaults.length < 2) return;
    const names = defaults.map((d) => d.name).join(", ");
    for (const { resource, name } of defaults) {
      reportViolation(`${resource.name}: StorageClass ${name} is one of ${defaults.length} default classes (${names}); keep ${DEFAULT_CLASS}: "true" on one`, resource.urn);
    }
  },
};
