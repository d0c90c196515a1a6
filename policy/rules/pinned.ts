import { ResourceValidationPolicy } from "@pulumi/policy";
import { commandTexts, isKubeplugComponent, kubernetesObjects, TYPES, walk } from "../resources";

/** A release as kubeplug's catalog pins one: 2.1.9, v1.36.3, 20260817.0, 1.17.8-1. Ranges, tags and `latest` are not. */
const EXACT_VERSION = /^v?\d+(\.\d+)*([-+][0-9A-Za-z.+~-]+)?$/;
const IMAGE_KEY = /^(image|[A-Za-z]+Image)$/;
const VERSION_KEY = /^(version|[A-Za-z]+Version)$/;
/** Where a runtime's config names the pod sandbox image: containerd 2 (`sandbox`), containerd 1.x (`sandbox_image`), CRI-O (`pause_image`). */
const SANDBOX_LINE = /^\s*(sandbox|sandbox_image|pause_image)\s*=\s*"([^"]*)"/gm;

export function versionProblem(version: unknown): string | undefined {
  if (typeof version === "number") return undefined;
  if (typeof version !== "string" || version.trim() === "") return "is not set, so the newest release is taken whenever the resource is created";
  return EXACT_VERSION.test(version) ? undefined : `${JSON.stringify(version)} is not one exact release (a range, a tag or "latest" changes what is installed without a change to the stack)`;
}

/** An image reference is pinned by a digest, or by a tag other than `latest` (no tag means `latest`). */
export function imageProblem(ref: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return undefined;
  const name = ref.slice(ref.lastIndexOf("/") + 1);
  const colon = name.indexOf(":");
  if (colon < 0) return `${JSON.stringify(ref)} has no tag, which means latest`;
  const tag = name.slice(colon + 1);
  return tag.toLowerCase() === "latest" || tag === "" ? `${JSON.stringify(ref)} is tagged ${JSON.stringify(tag)}, which moves` : undefined;
}

/** Image references and chart image tags below `value` (chart values, manifests, component inputs). */
function imageProblems(value: unknown, where: string): string[] {
  const problems: string[] = [];
  walk(value, (key, item, path) => {
    if (IMAGE_KEY.test(key) && typeof item === "string") {
      const problem = imageProblem(item);
      if (problem) problems.push(`${where}${path}: ${problem}`);
    }
    // Charts split an image into repository and tag; an empty tag means the chart's appVersion, pinned with the chart.
    if (key === "tag" && typeof item === "string" && item.toLowerCase() === "latest") problems.push(`${where}${path}: the image tag "latest" moves`);
  });
  return problems;
}

export const pinnedVersionsAndImages: ResourceValidationPolicy = {
  name: "kubeplug-pinned-versions-and-images",
  description: "Charts, component versions and container images are pinned: one exact version, and an image tag other than latest or a digest.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const problems: string[] = [];
    if (args.type === TYPES.chartV4 || args.type === TYPES.releaseV3) {
      const problem = versionProblem(args.props.version);
      if (problem) problems.push(`chart ${args.props.chart ?? args.name}: version ${problem}`);
      problems.push(...imageProblems(args.props.values, "values."));
    }
    for (const object of kubernetesObjects(args.type, args.props)) {
      const metadata = (object.metadata ?? {}) as { name?: string };
      problems.push(...imageProblems(object.spec, `${String(object.kind ?? "object")} ${metadata.name ?? ""} spec.`));
    }
    if (isKubeplugComponent(args.type)) {
      walk(args.props, (key, item, path) => {
        const problem = VERSION_KEY.test(key) && item !== undefined ? versionProblem(item) : undefined;
        if (problem) problems.push(`${path}: ${problem}`);
      });
      problems.push(...imageProblems(args.props, ""));
    }
    if (args.type === TYPES.command) {
      for (const { field, text } of commandTexts(args.props)) {
        for (const [, key, ref] of text.matchAll(SANDBOX_LINE)) {
          const problem = imageProblem(ref!);
          if (problem) problems.push(`${field}: ${key} ${problem}`);
        }
      }
    }
    for (const problem of problems) reportViolation(`${args.name}: ${problem}`);
  },
};
