import { readFileSync } from "node:fs";
import { join } from "node:path";
import { StorageDriverEntry } from "./types";

/** The kubelet root the vendored manifests are written for. */
export const UPSTREAM_KUBELET_DIR = "/var/lib/kubelet";

/**
 * The text of a vendored upstream file, src/catalog/storage/manifests/<id>/<file>. The build copies the manifests
 * next to the compiled module, so the same relative path serves tsx (src) and the package (dist).
 */
export function vendoredManifest(id: string, file: string): string {
  return readFileSync(join(__dirname, "manifests", id, file), "utf8");
}

/**
 * Points the vendored manifests at a kubelet root other than /var/lib/kubelet: every Linux path that is the
 * kubelet root or below it (hostPath, mountPath, --kubelet-registration-path=, env values). The CSI node plugin gets
 * target paths from the kubelet as host paths, so the container's mounts move with the host's. Windows paths
 * (C:\var\lib\kubelet) and longer names (/var/lib/kubelet-x, /opt/var/lib/kubelet) are left alone.
 */
export function withKubeletDir(yamlText: string, kubeletDir: string): string {
  const root = kubeletDir.length > 1 ? kubeletDir.replace(/\/+$/, "") : kubeletDir;
  if (!root.startsWith("/")) throw new Error(`kubelet directory ${JSON.stringify(kubeletDir)} is not an absolute path`);
  if (root === UPSTREAM_KUBELET_DIR) return yamlText;
  return yamlText.replace(/(?<![\w./\\-])\/var\/lib\/kubelet(?=\/|$|[\s"',\]}])/gm, root);
}

/**
 * Sets every `image:` whose repository the pins name to the pinned reference: vendored manifests at a tag can deploy
 * an older image than the tag, or an untagged one. Images the pins do not name are left as they are.
 */
export function withImages(yamlText: string, pins: Readonly<Record<string, string>>): string {
  return yamlText.replace(/^(\s*(?:-\s+)?image:\s*)(["']?)([^\s"'#]+)\2/gm, (line, prefix: string, quote: string, ref: string) => {
    const pinned = pins[imageRepository(ref)];
    return pinned ? `${prefix}${quote}${pinned}${quote}` : line;
  });
}

/** `registry/path/name` of an image reference, without its tag or digest. */
export function imageRepository(ref: string): string {
  const withoutDigest = ref.split("@")[0]!;
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

/** The vendored manifests of a manifests entry as kubeplug applies them: images pinned, kubelet root moved. */
export function driverManifests(entry: StorageDriverEntry, kubeletDir: string): { readonly file: string; readonly text: string }[] {
  if (entry.install.kind !== "manifests") return [];
  const { files, images } = entry.install;
  return files.map((file) => {
    const pinned = withImages(vendoredManifest(entry.id, file), images);
    return { file, text: entry.kubeletDir && "manifestPath" in entry.kubeletDir ? withKubeletDir(pinned, kubeletDir) : pinned };
  });
}

/**
 * The chart values kubeplug sets for a Helm entry: the kubelet root at the chart's own path, and the bundled snapshot
 * controller off. Nested as Helm takes them; a stack's own `values` go over these.
 */
export function kubeplugChartValues(entry: StorageDriverEntry, kubeletDir: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const flat: Record<string, unknown> = { ...entry.bundledSnapshotterOff };
  if (entry.kubeletDir && "valuesPath" in entry.kubeletDir) flat[entry.kubeletDir.valuesPath] = kubeletDir;
  for (const [path, value] of Object.entries(flat)) {
    const keys = path.split(".");
    let at = values;
    for (const key of keys.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
    at[keys[keys.length - 1]!] = value;
  }
  return values;
}
