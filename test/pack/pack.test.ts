import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unwrapSecret } from "../support/pulumi-mocks";
import type { MockRun, MockSettings, Registered } from "./mock-run";

// The package as a user gets it: `npm pack` (its prepack builds dist), installed into a new project
// with `npm install`, then every example type-checked against the installed package and run under
// pulumi.runtime.setMocks. kubeplug's dependencies are pinned to the versions in this repo's
// package-lock.json and installed with --prefer-offline, so they come from the npm cache that
// `npm ci` filled: the install resolves the package's declared dependencies as a user's does,
// without reaching the registry for what the cache already has.

const root = join(__dirname, "..", "..");
const EXAMPLES = readdirSync(join(root, "examples"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const run = promisify(execFile);
const MB = 1024 * 1024;

let work: string;
let project: string;
let packed: string[];
let typecheck: { ok: boolean; output: string };

function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
  return lock.packages[`node_modules/${name}`]!.version;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "kubeplug-pack-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: root, maxBuffer: 16 * MB });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  packed = info!.files.map((f) => f.path);

  project = join(work, "project");
  mkdirSync(project);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  const pinned = Object.fromEntries(Object.keys(pkg.dependencies).map((name) => [name, lockedVersion(name)]));
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "kubeplug-pack-check", private: true, dependencies: { kubeplug: `file:${join(work, info!.filename)}`, ...pinned }, devDependencies: { "@types/node": lockedVersion("@types/node") } }),
  );
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], { cwd: project, maxBuffer: 16 * MB });

  for (const name of EXAMPLES) cpSync(join(root, "examples", name), join(project, "examples", name), { recursive: true });
  cpSync(join(__dirname, "mock-run.ts"), join(project, "mock-run.ts"));
  // nodenext resolution reads the exports map, as current TypeScript projects do. Library .d.ts files
  // are not re-checked (skipLibCheck): what the examples use of kubeplug's types is checked either way.
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "nodenext", moduleResolution: "nodenext", strict: true, esModuleInterop: true, skipLibCheck: true, types: ["node"], outDir: "out", rootDir: "." },
      include: ["examples/*/index.ts", "mock-run.ts"],
    }),
  );
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  typecheck = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project }).then(
    () => ({ ok: true, output: "" }),
    (error: { stdout: string }) => ({ ok: false, output: error.stdout }),
  );
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Every file under `dir` (relative to it), recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)));
}

describe("npm pack", () => {
  it("ships compiled JS and .d.ts for every module, the script assets, the catalog, the schema, the docs, LICENSE and README; no sources, tests or source maps", () => {
    const src = filesUnder(join(root, "src"));
    const modules = src.filter((f) => f.endsWith(".ts")).map((f) => f.replace(/\.ts$/, ""));
    const assets = src.filter((f) => !f.endsWith(".ts"));
    expect(assets.filter((f) => f.endsWith(".sh")).length).toBeGreaterThan(10);
    expect(assets).toContain("catalog/checksums.json");
    const expected = [
      ...modules.flatMap((m) => [`dist/${m}.js`, `dist/${m}.d.ts`]),
      ...assets.map((f) => `dist/${f}`),
      ...filesUnder(join(root, "docs")).map((f) => `docs/${f}`),
      "schema/kubeplug.schema.json",
      "LICENSE",
      "README.md",
      "package.json",
    ];
    expect([...packed].sort()).toEqual([...expected].sort());
  });

  it("LICENSE is the full Apache License 2.0", () => {
    const license = readFileSync(join(root, "LICENSE"), "utf8");
    expect(license).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    expect(license).toContain("END OF TERMS AND CONDITIONS");
    expect(license).toContain("APPENDIX: How to apply the Apache License to your work.");
  });

  it("the installed package resolves through its exports map, which hides its internals", async () => {
    const probe = [
      "const r = (s) => { try { return require.resolve(s).replace(process.cwd() + '/', ''); } catch (e) { return e.code; } };",
      "console.log(JSON.stringify(['kubeplug', 'kubeplug/package.json', 'kubeplug/schema/kubeplug.schema.json', 'kubeplug/dist/index.js', 'kubeplug/src/index.ts'].map(r)));",
    ].join("\n");
    const { stdout } = await run(process.execPath, ["-e", probe], { cwd: project });
    expect(JSON.parse(stdout)).toEqual([
      "node_modules/kubeplug/dist/index.js",
      "node_modules/kubeplug/package.json",
      "node_modules/kubeplug/schema/kubeplug.schema.json",
      "ERR_PACKAGE_PATH_NOT_EXPORTED",
      "ERR_PACKAGE_PATH_NOT_EXPORTED",
    ]);
  });
});

describe("the examples, against the installed package", () => {
  it("finds the four examples", () => {
    expect(EXAMPLES).toEqual(["gpu-pool", "runtime-swap", "storage-only", "vm-nodes"]);
  });

  it("every example type-checks with tsc", () => {
    expect(typecheck.output).toBe("");
    expect(typecheck.ok).toBe(true);
  });

  it.each(EXAMPLES)("%s runs under mocks and registers what it says", async (name) => {
    expect(typecheck.ok).toBe(true);
    const dir = join(project, "examples", name);
    const settings: MockSettings = {
      project: (yaml.load(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) as { name: string }).name,
      config: Object.fromEntries(
        Object.entries((yaml.load(readFileSync(join(dir, "Pulumi.mocks.yaml"), "utf8")) as { config: Record<string, unknown> }).config).map(([key, value]) => [
          key,
          typeof value === "string" ? value : JSON.stringify(value),
        ]),
      ),
    };
    writeFileSync(join(work, `${name}.settings.json`), JSON.stringify(settings));
    const out = join(work, `${name}.out.json`);
    // The example's own directory is the working directory, as under `pulumi up`.
    await run(process.execPath, [join(project, "out", "mock-run.js"), join(work, `${name}.settings.json`), join(project, "out", "examples", name, "index.js"), out], { cwd: dir, maxBuffer: 16 * MB });
    const result = JSON.parse(readFileSync(out, "utf8")) as MockRun;
    EXPECTATIONS[name]!(mocked(result));
  });
});

interface Mocked {
  readonly outputs: Record<string, unknown>;
  /** How many resources of each type registered. */
  readonly counts: Record<string, number>;
  ofType(type: string): Registered[];
  /** Position in registration order; a resource registers only after what it depends on. */
  order(type: string, name: string): number;
}

function mocked(result: MockRun): Mocked {
  const counts: Record<string, number> = {};
  for (const r of result.registered) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return {
    outputs: result.outputs as Record<string, unknown>,
    counts,
    ofType: (type) => result.registered.filter((r) => r.type === type),
    order: (type, name) => {
      const i = result.registered.findIndex((r) => r.type === type && r.name === name);
      expect(i, `${type} ${name} registered`).toBeGreaterThanOrEqual(0);
      return i;
    },
  };
}

const COMMAND = "command:remote:Command";
const STEP = "kubeplug:node:NodeStep";
const RUNTIME_STEPS = ["node-prepare", "oci-runtimes-install", "containerd-install", "containerd-configure", "crictl-install"];
const SWAP_STEPS = ["swap-preflight", "swap-drain", "swap-stop-old", "swap-prepull", "swap-repoint", "swap-start"];
const stepNames = (m: Mocked) => m.ofType(STEP).map((s) => s.name).sort();
const perNode = (nodes: string[], steps: string[]) => nodes.flatMap((n) => steps.map((s) => `${n}-${s}`));

const EXPECTATIONS: Record<string, (m: Mocked) => void> = {
  "gpu-pool": (m) => {
    const nodes = ["gpu-1", "gpu-2"];
    expect(m.counts).toMatchObject({ "kubeplug:runtime:ContainerdRuntime": 1, "pulumi:providers:kubernetes": 1, "kubeplug:runtime:RuntimeClass": 1, "kubernetes:node.k8s.io/v1:RuntimeClass": 1 });
    expect(stepNames(m)).toEqual(perNode(nodes, [...RUNTIME_STEPS, "nvidia-toolkit-install"]).sort());
    // Every step, and each node's library install.
    expect(m.counts[COMMAND]).toBe(nodes.length * 7);
    const toolkit = m.ofType(COMMAND).find((c) => c.name === "gpu-1-nvidia-toolkit-install")!;
    expect(toolkit.inputs.create).toContain("https://nvidia.github.io/libnvidia-container/stable/deb/amd64");
    const [rc] = m.ofType("kubernetes:node.k8s.io/v1:RuntimeClass");
    expect(rc!.inputs).toMatchObject({ handler: "nvidia", metadata: { name: "nvidia" }, scheduling: { nodeSelector: { "kubeplug.example/gpu": "true" } } });
    // The class appears only after every GPU node's runtime is configured.
    for (const n of nodes) expect(m.order("kubernetes:node.k8s.io/v1:RuntimeClass", "nvidia")).toBeGreaterThan(m.order(COMMAND, `${n}-crictl-install`));
    expect(m.outputs.runtimeEndpoint).toBe("unix:///run/containerd/containerd.sock");
  },

  "storage-only": (m) => {
    expect(m.counts).toMatchObject({ "kubeplug:storage:CsiDriver": 2, "kubernetes:helm.sh/v4:Chart": 2, "kubeplug:storage:StorageClass": 3, "kubernetes:storage.k8s.io/v1:StorageClass": 3 });
    expect(m.counts[COMMAND]).toBeUndefined();
    const versions = m.outputs.chartVersions as Record<string, string>;
    // Independent resources register in no set order.
    expect(m.ofType("kubernetes:helm.sh/v4:Chart").map((c) => [c.inputs.chart, c.inputs.version]).sort()).toEqual([
      ["aws-ebs-csi-driver", versions.ebs],
      ["aws-efs-csi-driver", versions.efs],
    ]);
    const classes = Object.fromEntries(m.ofType("kubernetes:storage.k8s.io/v1:StorageClass").map((c) => [c.name, c.inputs as Record<string, any>])); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(Object.keys(classes).sort()).toEqual(["efs-shared", "gp3", "io2"]);
    expect(classes.gp3).toMatchObject({ provisioner: "ebs.csi.aws.com", parameters: { type: "gp3", encrypted: "true" }, volumeBindingMode: "WaitForFirstConsumer", allowVolumeExpansion: true });
    expect(classes["efs-shared"]).toMatchObject({ provisioner: "efs.csi.aws.com", parameters: { provisioningMode: "efs-ap", fileSystemId: "fs-0123456789abcdef0", directoryPerms: "700" } });
    const defaults = Object.entries(classes).filter(([, c]) => c.metadata?.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true");
    expect(defaults.map(([n]) => n)).toEqual(["gp3"]);
    // A class registers after its driver's chart.
    expect(m.order("kubernetes:storage.k8s.io/v1:StorageClass", "efs-shared")).toBeGreaterThan(m.order("kubernetes:helm.sh/v4:Chart", "aws-efs"));
  },

  "vm-nodes": (m) => {
    const vms = { "worker-1": "192.0.2.41", "worker-2": "192.0.2.42" };
    expect(m.counts).toMatchObject({ "example:index:StandInVm": 2, "kubeplug:runtime:ContainerdRuntime": 1, "kubeplug:network:NodeNetwork": 1 });
    expect(stepNames(m)).toEqual(perNode(Object.keys(vms), [...RUNTIME_STEPS, "cni-plugins-install", "cni-conflist"]).sort());
    expect(m.outputs.addresses).toEqual(Object.values(vms));
    // Each VM's address reached every Command and upload for it, inside the secret connection.
    const remote = [...m.ofType(COMMAND), ...m.ofType("command:remote:CopyToRemote")];
    expect(remote).toHaveLength(Object.keys(vms).length * 11);
    for (const [vm, address] of Object.entries(vms)) {
      const mine = remote.filter((r) => r.name.includes(`${vm}-`));
      expect(mine).toHaveLength(11);
      for (const r of mine) {
        const connection = unwrapSecret(r.inputs.connection);
        expect(connection.secret, r.name).toBe(true);
        expect(connection.value).toMatchObject({ host: address, user: "admin", hostKey: expect.stringMatching(/^ssh-ed25519 /) });
        expect(m.order(r.type, r.name)).toBeGreaterThan(m.order("example:index:StandInVm", vm));
      }
    }
  },

  "runtime-swap": (m) => {
    const workers = ["wrk-1", "wrk-2", "wrk-3"];
    expect(m.counts).toMatchObject({ "kubeplug:index:Cluster": 1, "kubeplug:runtime:ContainerdRuntime": 2 });
    // Only the workers pool swaps; the system pool keeps its runtime and gets its usual steps.
    expect(stepNames(m)).toEqual([...perNode(["sys-1"], RUNTIME_STEPS), ...perNode(workers, [...RUNTIME_STEPS, ...SWAP_STEPS])].sort());
    // Waves of one node: a node drains only once the previous one has started on the new runtime.
    for (let i = 1; i < workers.length; i++) expect(m.order(COMMAND, `${workers[i]}-swap-drain`)).toBeGreaterThan(m.order(COMMAND, `${workers[i - 1]}-swap-start`));
    const drain = m.ofType(COMMAND).find((c) => c.name === "wrk-1-swap-drain")!;
    expect(drain.inputs.create).toContain("/etc/kubeplug/swap.kubeconfig");
    expect(Object.keys(m.outputs.runtimeEndpoints as object).sort()).toEqual(["sys-1", ...workers]);
  },
};
