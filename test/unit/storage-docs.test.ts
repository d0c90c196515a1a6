import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { vendoredManifest } from "../../src/catalog/storage";
import { parseStackFile } from "../../src/config/stack";

const DOC = readFileSync(join(__dirname, "..", "..", "docs", "storage-stacks.md"), "utf8");
const blocks = (lang: string) => [...DOC.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);

describe("docs/storage-stacks.md", () => {
  const [stackBlock, ...objectBlocks] = blocks("yaml");
  const objects = objectBlocks.flatMap((b) => yaml.loadAll(b) as Record<string, unknown>[]);

  it("its stack example is a valid stack", () => {
    const stack = `config:
  kubeplug:cluster:
    name: docs
    ssh: { privateKeyPath: /dev/null, insecureSkipHostKeyCheck: true }
    pools: [{ name: storage, runtime: { kind: containerd, version: 2.1.9 } }]
    nodes: [{ name: n1, pool: storage, address: 192.0.2.1 }]
${stackBlock!.replace(/^kubeplug:cluster:\n(  .*\n)+/m, "").replace(/^/gm, "  ")}`;
    const { config } = parseStackFile("docs", stack, "docs.yaml");
    expect(Object.keys(config.storage.classes)).toEqual(["csi-hostpath-sc", "nfs"]);
  });

  it.each(objects.filter((o) => o.apiVersion === "v1").map((o) => [o.kind, o]))("its %s validates against the Kubernetes OpenAPI schema", async (kind, doc) => {
    const module = (await import(`kubernetes-models/v1/${String(kind)}`)) as Record<string, new (data: unknown) => { validate(): void }>;
    expect(() => new module[String(kind)]!(doc).validate()).not.toThrow();
  });

  it("its VolumeSnapshot validates against the vendored CRD's schema", () => {
    const snapshot = objects.find((o) => o.kind === "VolumeSnapshot")!;
    const crd = yaml.load(vendoredManifest("snapshot-controller", "snapshot.storage.k8s.io_volumesnapshots.yaml")) as { spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] } };
    const validate = new Ajv({ strict: false }).compile(crd.spec.versions.find((v) => v.name === "v1")!.schema.openAPIV3Schema);
    expect(validate(snapshot), JSON.stringify(validate.errors)).toBe(true);
  });
});
