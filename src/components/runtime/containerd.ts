import * as pulumi from "@pulumi/pulumi";
import { Arch } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { Findings } from "../../config/findings";
import { ContainerdConfig, ContainerdConfigInput, containerdRuntime } from "../../config/runtime";
import { checkContainerd } from "../../config/runtime-checks";
import { secretRefId } from "../../config/secrets";
import { zodProblems } from "../../config/zod";
import { KubeplugConfigError } from "../../errors";
import { NodeConnection } from "../node/connection";
import { NodeStep } from "../node/node-step";
import { buildNodeStep, NodeStepSpec } from "../node/step";
import { RenderedContainerd, renderContainerd, renderCredentialFragment } from "./containerd-render";
import { containerdSteps } from "./containerd-steps";

/** A host the runtime is installed on. */
export interface RuntimeNode {
  /** Node name: names the node steps and appears in every error about the node. */
  readonly name: string;
  readonly arch?: Arch;
  readonly connection: NodeConnection;
}

export interface ContainerdRuntimeArgs {
  readonly nodes: readonly RuntimeNode[];
  /** The same shape as a pool's `runtime` in a stack file (`kind: containerd` may be left out). */
  readonly config: Omit<ContainerdConfigInput, "kind"> & { readonly kind?: "containerd" };
  /** The kubelet's cgroup driver; SystemdCgroup follows it. Default systemd. */
  readonly kubeletCgroupDriver?: "systemd" | "cgroupfs";
  readonly downloads?: Partial<DownloadsConfig>;
  readonly cni?: { readonly binDir: string; readonly confDir: string };
  /**
   * Secret values by reference id (`config:<key>` or `env:<NAME>`, see secretRefId) for the
   * registry credentials the config refers to.
   */
  readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
}

export interface ValidatedContainerdArgs {
  readonly config: ContainerdConfig;
  readonly cgroupDriver: "systemd" | "cgroupfs";
  readonly downloads: DownloadsConfig;
  readonly cni: { readonly binDir: string; readonly confDir: string };
  readonly warnings: Findings["warnings"];
}

const DEFAULT_CNI = { binDir: "/opt/cni/bin", confDir: "/etc/cni/net.d" } as const;

/** Parses and checks component arguments the way a stack file is checked; errors are rooted at `containerd`. */
export function validateContainerdArgs(args: ContainerdRuntimeArgs): ValidatedContainerdArgs {
  const parsed = containerdRuntime.safeParse({ kind: "containerd", ...args.config }, { reportInput: true });
  if (!parsed.success) throw new KubeplugConfigError(zodProblems("containerd", parsed.error));
  const cgroupDriver = args.kubeletCgroupDriver ?? "systemd";
  const downloads: DownloadsConfig = {
    baseUrls: args.downloads?.baseUrls ?? {},
    checksums: args.downloads?.checksums ?? {},
    cacheDir: args.downloads?.cacheDir ?? "/var/cache/kubeplug/downloads",
  };
  const cni = args.cni ?? DEFAULT_CNI;
  const findings = new Findings();
  const arches = [...new Set(args.nodes.map((n) => n.arch ?? "amd64"))];
  checkContainerd(parsed.data, findings.at("containerd"), { cgroupDriver, arches, downloads, cni });
  if (findings.problems.length > 0) throw new KubeplugConfigError(findings.problems);
  return { config: parsed.data, cgroupDriver, downloads, cni, warnings: findings.warnings };
}

/**
 * containerd on a set of nodes: installs the OCI runtimes and containerd, then writes config.toml,
 * hosts.toml and runtime files. Every node gets the same rendered config, so `configHash` is one value.
 */
export class ContainerdRuntime extends pulumi.ComponentResource {
  /** The kubelet's `containerRuntimeEndpoint`. */
  readonly runtimeEndpoint: pulumi.Output<string>;
  readonly configHash: pulumi.Output<string>;
  /** Per node, its steps in dependency order; the last one (configure) is what a kubelet step should wait for. */
  readonly nodeSteps: Readonly<Record<string, readonly NodeStep[]>>;
  readonly rendered: RenderedContainerd;

  constructor(name: string, args: ContainerdRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:runtime:ContainerdRuntime", name, {}, opts);
    const valid = validateContainerdArgs(args);
    for (const w of valid.warnings) pulumi.log.warn(`${w.path}: ${w.message}`, this);
    this.rendered = renderContainerd(valid.config, { pool: name, cgroupDriver: valid.cgroupDriver, cni: valid.cni });
    const stdin = credentialStdin(valid.config.version, this.rendered, args.secrets ?? {});

    const nodeSteps: Record<string, NodeStep[]> = {};
    for (const node of args.nodes) {
      const specs = containerdSteps({
        node: { name: node.name, arch: node.arch ?? "amd64" },
        config: valid.config,
        rendered: this.rendered,
        downloads: valid.downloads,
      }).map(buildNodeStep);
      nodeSteps[node.name] = createSteps(node, specs, stdin, this);
    }
    this.nodeSteps = nodeSteps;
    this.runtimeEndpoint = pulumi.output(this.rendered.runtimeEndpoint);
    this.configHash = pulumi.output(this.rendered.configHash);
    this.registerOutputs({ runtimeEndpoint: this.runtimeEndpoint, configHash: this.configHash });
  }
}

function createSteps(node: RuntimeNode, specs: readonly NodeStepSpec[], stdin: pulumi.Output<string> | undefined, parent: pulumi.Resource): NodeStep[] {
  const byId = new Map<string, NodeStep>();
  for (const spec of specs) {
    const step = new NodeStep(
      `${node.name}-${spec.id}`,
      { connection: node.connection, spec, ...(spec.secret && stdin ? { stdin } : {}) },
      { parent, dependsOn: spec.dependsOn.map((id) => byId.get(id)!) },
    );
    byId.set(spec.id, step);
  }
  return [...byId.values()];
}

/** The credential fragment the configure step appends to config.toml, as one Pulumi secret. */
function credentialStdin(version: string, rendered: RenderedContainerd, secrets: Readonly<Record<string, pulumi.Input<string>>>): pulumi.Output<string> | undefined {
  if (rendered.credentials.length === 0) return undefined;
  const missing = rendered.credentials.map((c) => secretRefId(c.password)).filter((id) => !(id in secrets));
  if (missing.length > 0) {
    throw new KubeplugConfigError(missing.map((id) => ({ path: "secrets", message: `no value for "${id}", which a registry credential refers to` })));
  }
  const passwords = rendered.credentials.map((c) => pulumi.output(secrets[secretRefId(c.password)]!));
  return pulumi.secret(
    pulumi.all(passwords).apply((values) =>
      renderCredentialFragment(version, rendered.credentials.map((c, i) => ({ host: c.host, username: c.username, password: values[i]! }))),
    ),
  );
}
