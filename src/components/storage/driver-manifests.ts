import yaml from "js-yaml";
import { driverManifests, SNAPSHOTTER, SNAPSHOTTER_ID, vendoredManifest, withImages } from "../../catalog/storage";
import { StorageDriverEntry } from "../../catalog/storage/types";

/** A vendored driver's manifests as the cluster gets them: images pinned, told where the kubelet's root is. */
export function vendoredDriverManifests(entry: StorageDriverEntry, kubeletDir: string): string[] {
  return driverManifests(entry, kubeletDir).map((m) => m.text);
}

/** The external-snapshotter's CRDs and its controller, as vendored, with the controller image the tag really ships. */
export function snapshotterManifests(): { crds: string[]; controller: string[] } {
  const read = (files: readonly string[]) => files.map((file) => withImages(vendoredManifest(SNAPSHOTTER_ID, file), SNAPSHOTTER.images));
  return { crds: read(SNAPSHOTTER.crdFiles), controller: read(SNAPSHOTTER.controllerFiles) };
}

interface ObjectHead {
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
}

/**
 * Where vendored manifests put their namespaced objects, and whether they create that namespace
 * themselves (vSphere, Filestore and local-path do; GCP PD's render and host path's do not).
 */
export function manifestNamespace(texts: readonly string[]): { readonly namespace: string; readonly createsIt: boolean } {
  const heads = texts.flatMap((t) => yaml.loadAll(t) as (ObjectHead | null)[]).filter((d): d is ObjectHead => d !== null && typeof d === "object");
  const namespace = heads.find((d) => d.metadata?.namespace)?.metadata?.namespace ?? "default";
  return { namespace, createsIt: heads.some((d) => d.kind === "Namespace" && d.metadata?.name === namespace) };
}

/** YAML documents as one multi-document text, each starting with `---`. */
export function yamlDocuments(docs: readonly string[]): string {
  return docs.map((d) => `---\n${d.replace(/^---\n/, "").replace(/\n*$/, "\n")}`).join("");
}
