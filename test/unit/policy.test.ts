import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PolicyResource } from "@pulumi/policy";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { KUBEPLUG_POLICIES } from "../../policy/policies";
import { oneDefaultStorageClass } from "../../policy/rules/default-storage-class";
import { hostKeysPinned } from "../../policy/rules/host-keys";
import { pinnedVersionsAndImages } from "../../policy/rules/pinned";
import { registryTlsVerified } from "../../policy/rules/registry-tls";
import { secretsOnlyInSecrets } from "../../policy/rules/secrets";
import { swapsBounded } from "../../policy/rules/swap-limits";
import { parseStackFile } from "../../src/config/stack";
import { planCluster } from "../../src/plan/cluster-plan";
import { policyResource, policyResourcesOf, runPack, validateResource, validateStack, Violation } from "../support/policy-args";
import { runMockedProgram } from "../support/pulumi-mocks";

// kubeplug's policy pack (policy/), rule by rule with hand-made resources as @pulumi/policy's own tests
// do, then on the resources the real Pulumi program registers under mocks for the example stacks.

const root = join(__dirname, "..", "..");
const PIN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2staG9zdC1rZXktZ29sZGVuLi4uLi4uLi4uLi4u";
const command = (name: string, props: Record<string, unknown>, additionalSecretOutputs: string[] = []) => ({
  type: "command:remote:Command",
  name,
  props: { connection: { host: "192.0.2.1", hostKey: PIN }, create: "true", ...props },
  additionalSecretOutputs,
});
const messages = (violations: Violation[]) => violations.map((v) => v.message);

describe("kubeplug-pinned-versions-and-images", () => {
  const chart = (version: unknown, values: unknown = {}) => ({ type: "kubernetes:helm.sh/v4:Chart", name: "cilium", props: { chart: "cilium", version, values } });

  it("passes a chart of one exact version whose values pin their images", async () => {
    expect(await validateResource(pinnedVersionsAndImages, chart("1.20.0", { image: { repository: "quay.io/cilium/cilium", tag: "v1.20.0" }, operator: { image: { tag: "" } } }))).toEqual([]);
  });

  it.each([
    [undefined, "cilium: chart cilium: version is not set, so the newest release is taken whenever the resource is created"],
    ["^1.20.0", 'cilium: chart cilium: version "^1.20.0" is not one exact release (a range, a tag or "latest" changes what is installed without a change to the stack)'],
    ["~1.20", 'cilium: chart cilium: version "~1.20" is not one exact release (a range, a tag or "latest" changes what is installed without a change to the stack)'],
    ["1.x", 'cilium: chart cilium: version "1.x" is not one exact release (a range, a tag or "latest" changes what is installed without a change to the stack)'],
    ["latest", 'cilium: chart cilium: version "latest" is not one exact release (a range, a tag or "latest" changes what is installed without a change to the stack)'],
  ])("refuses chart version %s", async (version, message) => {
    expect(messages(await validateResource(pinnedVersionsAndImages, chart(version)))).toEqual([message]);
  });

  it("refuses latest and untagged images in chart values", async () => {
    const values = { image: { repository: "quay.io/cilium/cilium", tag: "latest" }, hubble: { relay: { image: "quay.io/cilium/hubble-relay" } } };
    expect(messages(await validateResource(pinnedVersionsAndImages, chart("1.20.0", values)))).toEqual([
      'cilium: values.image.tag: the image tag "latest" moves',
      'cilium: values.hubble.relay.image: "quay.io/cilium/hubble-relay" has no tag, which means latest',
    ]);
  });

  it("refuses a latest image in manifests (a ConfigGroup's YAML) and passes digests and tags", async () => {
    const manifest = (image: string) => `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: snapshot-controller }\nspec:\n  template:\n    spec:\n      containers:\n        - { name: c, image: "${image}" }\n`;
    const group = (image: string) => ({ type: "kubernetes:yaml/v2:ConfigGroup", name: "snapshot-controller", props: { yaml: manifest(image) } });
    expect(await validateResource(pinnedVersionsAndImages, group("registry.k8s.io/sig-storage/snapshot-controller:v8.6.0"))).toEqual([]);
    expect(await validateResource(pinnedVersionsAndImages, group(`registry.k8s.io/x@sha256:${"a".repeat(64)}`))).toEqual([]);
    expect(messages(await validateResource(pinnedVersionsAndImages, group("localhost:5000/snapshot-controller:latest")))).toEqual([
      'snapshot-controller: Deployment snapshot-controller spec.template.spec.containers[0].image: "localhost:5000/snapshot-controller:latest" is tagged "latest", which moves',
    ]);
  });

  it("refuses ranges in kubeplug component inputs and a latest sandbox image in a node step's config", async () => {
    expect(messages(await validateResource(pinnedVersionsAndImages, { type: "kubeplug:runtime:ContainerdRuntime", name: "general", props: { version: ">=2.1", sandboxImage: "registry.k8s.io/pause" } }))).toEqual([
      'general: version: ">=2.1" is not one exact release (a range, a tag or "latest" changes what is installed without a change to the stack)',
      'general: sandboxImage: "registry.k8s.io/pause" has no tag, which means latest',
    ]);
    expect(messages(await validateResource(pinnedVersionsAndImages, command("n1-crio-configure", { create: '[crio.image]\npause_image = "registry.k8s.io/pause:latest"\n' })))).toEqual([
      'n1-crio-configure: create: pause_image "registry.k8s.io/pause:latest" is tagged "latest", which moves',
    ]);
    expect(await validateResource(pinnedVersionsAndImages, command("n1-containerd-configure", { create: 'sandbox = "registry.k8s.io/pause:3.10"\n' }))).toEqual([]);
  });
});

describe("kubeplug-registry-tls-verified", () => {
  const hostsToml = 'cat > /etc/containerd/certs.d/docker.io/hosts.toml <<EOF\n[host."https://mirror:5000"]\n  skip_verify = true\nEOF\n';
  const cluster = (lab: boolean) => policyResource({ type: "kubeplug:index:Cluster", name: "c", props: { lab, swaps: [] } });
  const under = (parent: PolicyResource) => policyResource({ ...command("n1-containerd-configure", { create: hostsToml }), parent });

  it("refuses skip_verify in a stack that is not a lab, naming the resource and the host", async () => {
    expect(messages(await validateStack(registryTlsVerified, [cluster(false), under(cluster(false))]))).toEqual([
      "n1-containerd-configure: create turns TLS verification off (skip_verify = true) for registry hosts among docker.io; only a stack with kubeplug:cluster.lab: true may set skipVerify",
    ]);
  });

  it("refuses CRI-O's insecure = true the same way, and a command outside any Cluster", async () => {
    const crio = policyResource(command("m1-crio-configure", { create: '[[registry.mirror]]\nlocation = "mirror:5000"\ninsecure = true\n' }));
    expect(messages(await validateStack(registryTlsVerified, [crio]))).toEqual([
      "m1-crio-configure: create turns TLS verification off (insecure = true); only a stack with kubeplug:cluster.lab: true may set skipVerify",
    ]);
  });

  it("allows it below a Cluster marked as a lab", async () => {
    expect(await validateStack(registryTlsVerified, [cluster(true), under(cluster(true))])).toEqual([]);
  });
});

describe("kubeplug-one-default-storage-class", () => {
  const storageClass = (name: string, isDefault: boolean) =>
    policyResource({
      type: "kubernetes:storage.k8s.io/v1:StorageClass",
      name,
      props: { kind: "StorageClass", metadata: { name, annotations: isDefault ? { "storageclass.kubernetes.io/is-default-class": "true" } : {} }, provisioner: "ebs.csi.aws.com" },
    });

  it("passes one default class among others", async () => {
    expect(await validateStack(oneDefaultStorageClass, [storageClass("gp3", true), storageClass("io2", false)])).toEqual([]);
  });

  it("refuses two defaults, one in a ConfigGroup's manifests, naming each resource", async () => {
    const group = policyResource({
      type: "kubernetes:yaml/v2:ConfigGroup",
      name: "local-path",
      props: { yaml: "kind: StorageClass\napiVersion: storage.k8s.io/v1\nmetadata:\n  name: local-path\n  annotations: { storageclass.kubernetes.io/is-default-class: \"true\" }\nprovisioner: rancher.io/local-path\n" },
    });
    expect(messages(await validateStack(oneDefaultStorageClass, [storageClass("gp3", true), group]))).toEqual([
      'gp3: StorageClass gp3 is one of 2 default classes (gp3, local-path); keep storageclass.kubernetes.io/is-default-class: "true" on one',
      'local-path: StorageClass local-path is one of 2 default classes (gp3, local-path); keep storageclass.kubernetes.io/is-default-class: "true" on one',
    ]);
  });
});

describe("kubeplug-swap-max-unavailable", () => {
  const cluster = (swap: Record<string, unknown>) => ({ type: "kubeplug:index:Cluster", name: "staging", props: { lab: false, swaps: [{ pool: "metal", ...swap }] } });
  const waves = [{ nodes: ["m1", "m2"], controlPlane: false }, { nodes: ["cp1"], controlPlane: true }];

  it("passes a swap whose waves keep to maxUnavailable", async () => {
    expect(await validateResource(swapsBounded, cluster({ maxUnavailable: "50%", waveSize: 2, waves }))).toEqual([]);
  });

  it.each([
    [{ waveSize: 2, waves }, "staging: runtime swap of pool metal sets no maxUnavailable; set pools[].swap.maxUnavailable"],
    [{ maxUnavailable: 0, waveSize: 2, waves }, "staging: runtime swap of pool metal maxUnavailable 0 is not a count of at least 1; set pools[].swap.maxUnavailable"],
    [{ maxUnavailable: "all", waveSize: 2, waves }, 'staging: runtime swap of pool metal maxUnavailable "all" is not a count or a percent from 1% to 100%; set pools[].swap.maxUnavailable'],
    [{ maxUnavailable: 1, waveSize: 1, waves }, "staging: runtime swap of pool metal: wave 1 takes 2 node(s) out at once (m1, m2), over its limit of 1"],
    [{ maxUnavailable: 3, waveSize: 3, waves: [{ nodes: ["cp1", "cp2"], controlPlane: true }] }, "staging: runtime swap of pool metal: wave 1 takes 2 node(s) out at once (cp1, cp2), over its limit of 1"],
  ])("refuses %j", async (swap, message) => {
    expect(messages(await validateResource(swapsBounded, cluster(swap)))).toEqual([message]);
  });
});

describe("kubeplug-host-keys-pinned", () => {
  it("passes pinned node and bastion keys", async () => {
    expect(await validateResource(hostKeysPinned, command("n1-node-prepare", { connection: { host: "10.0.0.1", hostKey: PIN, proxy: { host: "bastion", hostKey: PIN } } }))).toEqual([]);
  });

  it("refuses a node library upload without a host key, and a bastion without one", async () => {
    const upload = { type: "command:remote:CopyToRemote", name: "n1-node-library-upload", props: { connection: { host: "10.0.0.1" }, remotePath: "/tmp/x" } };
    expect(messages(await validateResource(hostKeysPinned, upload))).toEqual(["n1-node-library-upload: the connection to the host 10.0.0.1 pins no hostKey; set ssh.hostKey or ssh.knownHostsFile for it"]);
    const viaBastion = command("n1-node-library", { connection: { host: "10.0.0.1", hostKey: PIN, proxy: { host: "bastion.example" } } });
    expect(messages(await validateResource(hostKeysPinned, viaBastion))).toEqual(["n1-node-library: the connection to the bastion bastion.example pins no hostKey; set ssh.hostKey or ssh.knownHostsFile for it"]);
  });
});

describe("kubeplug-secrets-from-pulumi-secrets", () => {
  const toml = '[plugins."io.containerd.grpc.v1.cri".registry.configs."mirror".auth]\n  username = "u"\n  password = "hunter2"\n';

  it("passes credentials on a stdin marked secret", async () => {
    expect(await validateResource(secretsOnlyInSecrets, command("n1-containerd-configure", { stdin: toml }, ["stdin"]))).toEqual([]);
  });

  it("refuses credentials in the script, the environment, or an unmarked stdin", async () => {
    expect(messages(await validateResource(secretsOnlyInSecrets, command("n1-containerd-configure", { create: toml, environment: { AUTH: '{"auths":{"quay.io":{"auth":"dTpw"}}}' }, stdin: toml })))).toEqual([
      "n1-containerd-configure: create holds a registry credential (TOML auth table), which Pulumi keeps in plain state and shows in diffs; pass it on stdin from a Pulumi secret",
      "n1-containerd-configure: environment.AUTH holds a registry credential (auth.json), which Pulumi keeps in plain state and shows in diffs; pass it on stdin from a Pulumi secret",
      'n1-containerd-configure: stdin holds a registry credential (TOML auth table) but is not marked secret (additionalSecretOutputs: ["stdin"]); take it from a Pulumi secret',
    ]);
  });

  it("refuses inline credentials in chart values and StorageClass parameters, not Secret references", async () => {
    const chart = { type: "kubernetes:helm.sh/v4:Chart", name: "aws-ebs", props: { version: "2.64.0", values: { controller: { accessKey: "AKIA-stand-in", region: "eu-west-1" } } } };
    expect(messages(await validateResource(secretsOnlyInSecrets, chart))).toEqual(["aws-ebs: values.controller.accessKey is a credential written inline; reference a Kubernetes Secret filled from a Pulumi secret instead"]);
    const sc = (parameters: Record<string, string>) => ({ type: "kubernetes:storage.k8s.io/v1:StorageClass", name: "s3", props: { kind: "StorageClass", metadata: { name: "s3" }, parameters } });
    expect(messages(await validateResource(secretsOnlyInSecrets, sc({ secretKey: "stand-in-secret" })))).toEqual(["s3: parameters.secretKey is a credential written inline; reference a Kubernetes Secret filled from a Pulumi secret instead"]);
    expect(await validateResource(secretsOnlyInSecrets, sc({ "csi.storage.k8s.io/provisioner-secret-name": "csi-rbd-secret" }))).toEqual([]);
  });
});

/** A stack file with its key paths pointed at the test key, in a temp dir, as the program would read it. */
function programStack(file: string, edit: (config: Record<string, any>) => void = () => {}): { path: string; name: string; commands: number } {
  const doc = yaml.load(readFileSync(join(root, file), "utf8")) as { config: Record<string, any> };
  const cluster = doc.config["kubeplug:cluster"];
  cluster.ssh.privateKeyPath = "test/fixtures/keys/mock_ed25519";
  if (cluster.ssh.bastion) cluster.ssh.bastion.privateKeyPath = "test/fixtures/keys/mock_ed25519";
  edit(doc.config);
  const name = /Pulumi\.(.+)\.yaml$/.exec(file)![1]!;
  const path = join(work, `Pulumi.${name}.yaml`);
  writeFileSync(path, yaml.dump(doc));
  const plan = planCluster(parseStackFile(name, readFileSync(path, "utf8"), path).config);
  return { path, name, commands: plan.nodes.reduce((n, node) => n + node.steps.length, 0) };
}

async function packOnProgram(file: string, edit?: (config: Record<string, any>) => void): Promise<{ resources: PolicyResource[]; violations: Violation[] }> {
  const stack = programStack(file, edit);
  const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue();
  try {
    const program = await runMockedProgram(stack.path, stack.name, { mirrorPassword: "stand-in-mirror-password" }, stack.commands);
    const resources = policyResourcesOf(program.all());
    return { resources, violations: await runPack(KUBEPLUG_POLICIES, resources) };
  } finally {
    warn.mockRestore();
  }
}

const work = mkdtempSync(join(tmpdir(), "kubeplug-policy-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the pack on the resources of the real program (pulumi.runtime.setMocks)", () => {
  const runs: Record<string, Awaited<ReturnType<typeof packOnProgram>>> = {};
  beforeAll(async () => {
    runs.prod = await packOnProgram("stacks/Pulumi.prod.yaml");
    runs.staging = await packOnProgram("stacks/Pulumi.staging.yaml");
    runs.dev = await packOnProgram("stacks/Pulumi.dev.yaml");
    runs.unsafe = await packOnProgram("test/fixtures/stacks/Pulumi.unsafe.yaml");
    runs.unsafeLab = await packOnProgram("test/fixtures/stacks/Pulumi.unsafe.yaml", (config) => (config["kubeplug:cluster"].lab = true));
  }, 120_000);

  it.each(["prod", "staging"])("%s passes every rule", (stack) => {
    expect(runs[stack]!.violations).toEqual([]);
  });

  it("staging's resources hold what the rules judge: a swap, one default class, secret stdin, pinned connections", () => {
    const { resources } = runs.staging!;
    const cluster = resources.find((r) => r.type === "kubeplug:index:Cluster")!;
    expect(cluster.props).toMatchObject({ lab: false, swaps: [{ pool: "metal", maxUnavailable: 1, waveSize: 1, waves: [{ nodes: ["metal-1"] }, { nodes: ["metal-2"] }] }] });
    const defaults = resources.filter((r) => r.type === "kubernetes:storage.k8s.io/v1:StorageClass" && r.props.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true");
    expect(defaults.map((r) => r.name)).toEqual(["gp3"]);
    const withStdin = resources.filter((r) => r.type === "command:remote:Command" && r.props.stdin !== undefined);
    expect(withStdin.map((r) => r.name).sort()).toEqual(["gen-1", "gen-2", "gen-3", "gpu-1", "gpu-2", "metal-1", "metal-2", "sbx-1"].map((n) => `${n}-${n.startsWith("metal") ? "crio" : "containerd"}-configure`).sort());
    for (const r of withStdin) expect(r.opts.additionalSecretOutputs).toContain("stdin");
    const remote = resources.filter((r) => r.type.startsWith("command:remote:"));
    expect(remote.filter((r) => r.name.endsWith("-node-library-upload"))).toHaveLength(8);
    for (const r of remote) expect(r.props.connection.hostKey).toMatch(/^ssh-ed25519 /);
  });

  it("a stack that is not a lab fails with the rule's name and each resource named", () => {
    const found = runs.unsafe!.violations.map((v) => `${v.policy}: ${v.message}`);
    const tls = (node: string) =>
      `kubeplug-registry-tls-verified: ${node}-containerd-configure: create turns TLS verification off (skip_verify = true) for registry hosts among docker.io; only a stack with kubeplug:cluster.lab: true may set skipVerify`;
    const hostKey = (resource: string) => `kubeplug-host-keys-pinned: ${resource}: the connection to the host 192.0.2.22 pins no hostKey; set ssh.hostKey or ssh.knownHostsFile for it`;
    const w2 = runs.unsafe!.resources.filter((r) => r.type.startsWith("command:remote:") && r.name.startsWith("w2-")).map((r) => r.name);
    expect(w2).toEqual(expect.arrayContaining(["w2-node-library-upload", "w2-node-library", "w2-containerd-configure"]));
    expect(found.sort()).toEqual([tls("w1"), tls("w2"), ...w2.map(hostKey)].sort());
  });

  it("the dev test bed, a lab whose nodes pin no host key, breaks that rule alone, on every command of every node", () => {
    const { resources, violations } = runs.dev!;
    const remote = resources.filter((r) => r.type.startsWith("command:remote:")).map((r) => r.name);
    expect(remote.length).toBeGreaterThan(20);
    expect(violations.map((v) => [v.policy, v.message.split(":")[0]])).toEqual(remote.map((name) => ["kubeplug-host-keys-pinned", name]));
    // Its storage drivers are manifests and charts: every image and chart version in them is pinned.
    expect(resources.filter((r) => r.type === "kubernetes:yaml/v2:ConfigGroup" || r.type === "kubernetes:helm.sh/v4:Chart").length).toBeGreaterThan(0);
  });

  it("marked as a lab, the same stack may skip TLS verification, but not host keys", () => {
    expect(new Set(runs.unsafeLab!.violations.map((v) => v.policy))).toEqual(new Set(["kubeplug-host-keys-pinned"]));
  });
});
