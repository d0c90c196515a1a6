import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import Ajv, { ErrorObject } from "ajv";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { formatPath } from "../../src/config/path";
import { parseStackFile } from "../../src/config/stack";
import { KubeplugConfigError } from "../../src/errors";

// What an editor sees: schema/kubeplug.schema.json, checked by a JSON Schema validator (ajv) instead
// of kubeplug's loader. Every good stack must pass it, and every bad-config case it refuses must be
// refused at a field kubeplug's own error names. The cases it cannot refuse are listed below, each
// with the reason, and must pass it: when the schema learns to catch one, the list has to shrink.

const root = join(__dirname, "..", "..");
const schema = JSON.parse(readFileSync(join(root, "schema", "kubeplug.schema.json"), "utf8")) as object;
// strict: the schema uses no keyword ajv does not know; discriminator: check only the branch `kind`,
// `engine`, `from` select, as editors do, so errors name the field and not every branch.
// allowUnionTypes: StorageClass parameter values are `type: [string, number, boolean]`, which is plain JSON Schema.
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, discriminator: true }).compile(schema);

const yamlFiles = (...dir: string[]) =>
  readdirSync(join(root, ...dir))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(...dir, f));
const GOOD_STACKS = [...yamlFiles("stacks"), ...yamlFiles("test", "fixtures", "stacks"), ...yamlFiles("test", "golden", "cases")];
const BAD_DIR = join("test", "fixtures", "bad-config");

/** Why a JSON Schema cannot refuse a case that kubeplug's loader refuses. */
const WHY = {
  yaml: "not YAML: there is no document to check (an editor's YAML parser reports it)",
  code: "a value rule written as code (.refine, .superRefine, checks after parsing), which has no JSON Schema form: IP addresses, DNS labels, URLs, paths, CIDRs, image tags, label keys, reserved CNI keys, SSH key data",
  crossField: "compares fields with each other or with another part of the stack (duplicates, references to pools, handlers and secrets, one setting excluding another)",
  release: "depends on the runtime or plugin release (supported lines, checksums, features), which kubeplug's catalog knows",
  rendered: "checked against the containerd config kubeplug renders (overrides)",
  local: "checked against the machine that runs pulumi up (key files, the SSH agent, environment variables, known_hosts files): preflight, not the stack file",
} as const;

const NOT_IN_SCHEMA: Readonly<Record<string, keyof typeof WHY>> = {
  "13-duplicate-node-name": "crossField",
  "14-duplicate-node-address": "crossField",
  "15-duplicate-pool-name": "crossField",
  "16-node-unknown-pool": "crossField",
  "17-invalid-ipv4": "code",
  "18-node-name-uppercase": "code",
  "19-node-name-underscore": "code",
  "20-mirror-url-ftp": "code",
  "21-mirror-url-no-scheme": "code",
  "22-mirror-url-space": "code",
  "24-release-missing-checksum": "release",
  "26-unsupported-containerd-version": "release",
  "27-cgroup-driver-conflict": "crossField",
  "28-package-version-mismatch": "release",
  "29-default-runtime-undefined": "crossField",
  "30-v3-table-on-v2": "rendered",
  "31-v2-key-on-v3": "rendered",
  "32-overrides-unknown-top-level": "rendered",
  "33-secret-ref-missing": "crossField",
  "34-ssh-key-and-agent": "crossField",
  "35-ssh-agent-over-cluster-key": "crossField",
  "36-bastion-key-and-agent": "crossField",
  "37-sandbox-image-latest": "code",
  "38-relative-root-path": "code",
  "40-invalid-yaml": "yaml",
  "43-label-invalid-key": "code",
  "45-handler-name-invalid": "code",
  "46-overrides-managed-key": "rendered",
  "47-handler-snapshotter-1-6": "release",
  "48-gvisor-kvm-package": "crossField",
  "49-duplicate-mirror": "crossField",
  "55-no-ssh-credentials": "crossField",
  "56-ipv4-leading-zero": "code",
  "63-yaml-duplicate-key": "yaml",
  "70-handler-name-uppercase": "code",
  "71-kata-without-virtualization": "crossField",
  "72-gvisor-devmapper": "crossField",
  "73-gvisor-pool-snapshotter": "crossField",
  "74-runtimeclass-missing-handler": "crossField",
  "75-runtimeclass-selects-node-without-handler": "crossField",
  "76-runtimeclass-no-distinguishing-label": "crossField",
  "79-crio-gvisor": "release",
  "80-crio-unsupported-version": "release",
  "82-crio-log-size-too-small": "code",
  "84-crio-cgroup-conflict": "crossField",
  "88-cni-version-newer-than-plugins": "release",
  "89-cni-version-newer-than-containerd": "release",
  "90-cni-ipam-not-installed": "crossField",
  "92-cni-chained-first": "crossField",
  "93-cni-duplicate-portmap": "crossField",
  "94-cni-bandwidth-rate-without-burst": "crossField",
  "95-cni-subnet-host-bits": "code",
  "96-cni-range-outside-pod-cidr": "crossField",
  "97-cni-node-subnet-outside-pod-cidr": "crossField",
  "98-cni-node-subnets-overlap-across-pools": "crossField",
  "99-cni-host-local-node-without-subnet": "crossField",
  "100-cni-reserved-runtime-config": "code",
  "104-cni-firewall-old-spec": "crossField",
  "105-cni-conflist-unknown-pool": "crossField",
  "106-cni-conflist-same-file": "crossField",
  "107-cni-wanted-plugin-too-new": "release",
  "109-cni-pod-cidr-invalid": "code",
  "112-cni-capabilities-not-boolean": "code",
  "113-cni-release-without-checksum": "release",
  "115-cni-provider-and-conflists": "crossField",
  "116-cni-provider-pod-cidr-mismatch": "crossField",
  "117-cni-wanted-plugin-owned-by-provider": "crossField",
  "118-cni-cilium-kpr-without-api-server": "crossField",
  "119-crun-too-old-for-containerd-2": "release",
  "120-cni-node-subnet-host-bits": "code",
  "121-ssh-private-key-missing": "local",
  "122-node-private-key-missing": "local",
  "123-bastion-private-key-missing": "local",
  "124-env-secret-unset": "local",
  "125-ssh-agent-without-socket": "local",
  "126-no-host-key-check": "crossField",
  "127-bastion-no-host-key": "crossField",
  "128-host-key-two-ways": "crossField",
  "129-host-key-cut-short": "code",
  "130-known-hosts-file-missing": "local",
  "131-known-hosts-no-entry": "local",
  "132-known-hosts-revoked-and-port": "local",
  "200-v4-top-level-metrics": "release",
  "201-v4-top-level-grpc-tcp": "release",
  "202-v4-managed-grpc-address": "rendered",
  "203-plugin-id-typo": "release",
  "204-v2-plugin-name-on-v3": "release",
  "205-plugin-key-typo": "release",
  "206-nested-key-typo-1-7": "release",
  "207-plugin-id-typo-2-3": "release",
  "208-key-newer-than-1-6-20": "release",
  "209-handler-snapshotter-override-1-6": "release",
  "210-timeout-typo": "release",
  "211-base-spec-without-oci-version": "code",
  "212-base-spec-rlimit-as-string": "code",
  "213-base-spec-relative-mount": "code",
  "214-metrics-address-without-port": "code",
  "215-metrics-address-ipv6-unbracketed": "code",
  "218-log-line-size-zero": "code",
  "219-override-of-typed-log-line-size": "rendered",
  "220-override-of-typed-debug-level": "rendered",
  "224-registry-override-not-inherited": "crossField",
  "225-registry-host-shadows-inherited": "crossField",
  "226-crio-inherits-mirror-ca": "crossField",
  "228-cluster-registry-mirror-twice": "crossField",
  "229-cluster-registry-secret-unset": "crossField",
  "262-nvidia-on-containerd-1-6": "release",
  "263-cdi-on-containerd-1-6": "release",
  "264-nvidia-flat-suite-with-components": "crossField",
  "265-nvidia-suite-without-components": "crossField",
  "268-enable-cdi-override": "release",
  "269-cdi-spec-dir-twice": "crossField",
  "271-nvidia-two-repositories": "crossField",
  "245-required-sysctl-changed": "crossField",
  "246-limited-swap-fail-swap-on": "crossField",
  "251-crictl-version-no-checksum": "release",
  "253-ipv6-forwarding-off": "crossField",
  // Storage: a class's parameters are an open map in the schema (their keys depend on the driver the class names), so
  // what the catalog knows of a driver (its parameters, capabilities, pinned version) is "release".
  "300-storage-two-default-classes": "crossField",
  "301-storage-two-default-snapshot-classes": "crossField",
  "302-storage-unknown-parameter": "release",
  "303-storage-misspelt-parameter": "release",
  "304-storage-ebs-io2-without-iops": "crossField",
  "305-storage-ebs-gp3-throughput-too-high": "release",
  "306-storage-ebs-gp3-iops-too-low": "crossField",
  "307-storage-ebs-gp3-iops-too-high": "crossField",
  "308-storage-ebs-flag-capitalised": "release",
  "309-storage-efs-block-volume-mode": "release",
  "310-storage-expansion-unsupported": "release",
  "311-storage-snapshots-unsupported": "release",
  "312-storage-ceph-rbd-missing-provisioner-secret": "release",
  "313-storage-inlined-secret": "release",
  "314-storage-secret-name-without-namespace": "crossField",
  "315-storage-driver-version-not-in-catalog": "release",
  "316-storage-unknown-driver-id": "release",
  "317-storage-class-driver-not-deployed": "crossField",
  "318-storage-driver-pool-unknown": "crossField",
  "319-storage-manifests-driver-namespace": "release",
  "320-storage-manifests-driver-values": "release",
  "322-storage-host-clients-unknown-pool": "crossField",
  "324-storage-nfs-without-server": "release",
  "325-storage-ceph-without-cluster-id": "release",
  "326-storage-snapshot-class-unknown-parameter": "release",
  "329-storage-block-unsupported": "release",
  "330-storage-host-path-snapshot-parameter": "release",
  "331-storage-ebs-iops-on-gp2": "crossField",
  "332-storage-ebs-kms-key-without-encrypted": "crossField",
  "333-storage-efs-without-file-system": "crossField",
  "334-storage-snapshot-class-driver-not-deployed": "crossField",
  "335-storage-local-path-unsafe-pattern": "crossField",
  "336-storage-ebs-gp3-iops-above-io2-limit": "crossField",
  "337-storage-ebs-inlined-access-key": "release",
  "338-storage-efs-without-provisioning-mode": "release",
  "339-storage-chart-value-unknown": "release",
  "340-storage-chart-value-owned-by-kubeplug": "release",
  "341-storage-chart-value-wrong-type": "release",
  "352-swap-max-unavailable-above-pool": "crossField",
  "353-swap-removes-runtime-class-handler": "crossField",
  "354-swap-kubelet-cgroup-driver-differs": "crossField",
  "355-swap-kubelet-flag-refused-by-version": "crossField",
  "356-swap-same-runtime": "crossField",
  "357-swap-same-kind-without-version": "crossField",
  "358-swap-sets-endpoint-flag": "crossField",
  "359-swap-only-control-plane": "crossField",
};

const badCases = yamlFiles(BAD_DIR).map((file) => file.slice(BAD_DIR.length + 1).replace(/\.yaml$/, ""));
const caught = badCases.filter((name) => !(name in NOT_IN_SCHEMA));

/**
 * The field an ajv error is about, written as kubeplug writes config paths. ajv names the object
 * for an unknown, missing or badly named key and for a bad tag; kubeplug names the key itself.
 */
function fieldOf(document: unknown, error: ErrorObject): string {
  const segments: PropertyKey[] = [];
  let value = document;
  for (const raw of error.instancePath.split("/").slice(1)) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    const key = Array.isArray(value) ? Number(segment) : segment;
    segments.push(key);
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  const params = error.params as { additionalProperty?: string; missingProperty?: string; propertyName?: string; tag?: string };
  // Errors inside propertyNames carry the key as `propertyName` on the error itself.
  const key = params.additionalProperty ?? params.missingProperty ?? params.propertyName ?? error.propertyName ?? (error.keyword === "discriminator" ? params.tag : undefined);
  if (key !== undefined) segments.push(key);
  // Below `config`, paths start at the config key (`kubeplug:cluster`), as in kubeplug's errors.
  const [, configKey, ...rest] = segments;
  return configKey === undefined ? segments.map(String).join(".") : formatPath(String(configKey), rest);
}

function ajvFields(document: unknown): string[] {
  return validate(document) ? [] : [...new Set(validate.errors!.map((error) => fieldOf(document, error)))];
}

function zodFields(text: string, file: string): string[] {
  try {
    parseStackFile("bad", text, file);
  } catch (error) {
    if (error instanceof KubeplugConfigError) return error.problems.map((p) => p.path);
    throw error;
  }
  throw new Error(`${file} is accepted by kubeplug`);
}

describe("the JSON Schema as an editor uses it", () => {
  it.each(GOOD_STACKS)("accepts %s", (file) => {
    const document = yaml.load(readFileSync(join(root, file), "utf8"));
    expect(ajvFields(document)).toEqual([]);
  });

  it("checks every stack of stacks/ (render-cli.test.ts renders each of them too)", () => {
    expect(GOOD_STACKS.filter((file) => file.startsWith("stacks/"))).toEqual(["stacks/Pulumi.dev.yaml", "stacks/Pulumi.prod.yaml", "stacks/Pulumi.staging.yaml"]);
  });

  it.each(GOOD_STACKS)("%s names the schema on its first line", (file) => {
    const [first] = readFileSync(join(root, file), "utf8").split("\n");
    expect(first).toBe(`# yaml-language-server: $schema=${relative(dirname(file), join("schema", "kubeplug.schema.json"))}`);
  });

  it("refuses at least 10 of the bad-config corpus", () => {
    expect(caught.length).toBeGreaterThanOrEqual(10);
  });

  it("lists only corpus cases that exist", () => {
    expect(Object.keys(NOT_IN_SCHEMA).filter((name) => !badCases.includes(name))).toEqual([]);
  });

  it.each(caught)("refuses %s at the field kubeplug names", (name) => {
    const file = join(BAD_DIR, `${name}.yaml`);
    const text = readFileSync(join(root, file), "utf8");
    const zod = zodFields(text, file);
    const ajv = ajvFields(yaml.load(text));
    expect(ajv.filter((field) => zod.includes(field)), `kubeplug: ${zod.join(", ")}; ajv: ${ajv.join(", ")}`).not.toEqual([]);
  });

  it.each(Object.entries(NOT_IN_SCHEMA))("cannot refuse %s: %s", (name, why) => {
    const text = readFileSync(join(root, BAD_DIR, `${name}.yaml`), "utf8");
    if (why === "yaml") {
      expect(() => yaml.load(text)).toThrow();
    } else {
      // When this fails, the schema now catches the case: remove it from NOT_IN_SCHEMA.
      expect(ajvFields(yaml.load(text)), WHY[why]).toEqual([]);
    }
  });
});
