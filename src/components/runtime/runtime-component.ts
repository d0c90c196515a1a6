import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { Arch } from "../../catalog/artifacts";
import { DownloadsConfig } from "../../config/cluster";
import { Findings, Locator } from "../../config/findings";
import { PoolContext } from "../../config/runtime-checks";
import { zodProblems } from "../../config/zod";
import { ConfigWarning, KubeplugConfigError } from "../../errors";
import { NodeStep } from "../node/node-step";
import { NodeConnection } from "../node/connection";
import { SecretValues } from "../node/secret-payload";

/** A host a runtime is installed on. */
export interface RuntimeNode {
  /** Node name: names the node steps and appears in every error about the node. */
  readonly name: string;
  readonly arch?: Arch;
  readonly connection: NodeConnection;
}

/** Arguments every runtime component takes besides its own config. */
export interface RuntimeArgsBase {
  readonly nodes: readonly RuntimeNode[];
  /** The kubelet's cgroup driver; the runtime follows it. Default systemd. */
  readonly kubeletCgroupDriver?: "systemd" | "cgroupfs";
  readonly downloads?: Partial<DownloadsConfig>;
  readonly cni?: { readonly binDir: string; readonly confDir: string };
  /** Whether the nodes expose /dev/kvm; false refuses VM runtimes up front. */
  readonly virtualization?: boolean;
  /** Secret values by reference id (`config:<key>` or `env:<NAME>`, see secretRefId). */
  readonly secrets?: SecretValues;
}

export interface ValidatedRuntime<Config> {
  readonly config: Config;
  readonly context: PoolContext & { readonly downloads: DownloadsConfig };
  readonly warnings: readonly ConfigWarning[];
}

/**
 * Parses and checks a runtime component's arguments the way a stack file is checked, so a program
 * that imports a component gets the same errors, rooted at the component's kind.
 */
export function validateRuntimeArgs<Schema extends z.ZodType>(
  kind: string,
  schema: Schema,
  args: RuntimeArgsBase & { readonly config: object },
  check: (config: z.output<Schema>, at: Locator, context: PoolContext) => void,
): ValidatedRuntime<z.output<Schema>> {
  const parsed = schema.safeParse({ kind, ...args.config }, { reportInput: true });
  if (!parsed.success) throw new KubeplugConfigError(zodProblems(kind, parsed.error));
  const context = {
    cgroupDriver: args.kubeletCgroupDriver ?? "systemd",
    arches: [...new Set(args.nodes.map((n) => n.arch ?? "amd64"))],
    downloads: {
      baseUrls: args.downloads?.baseUrls ?? {},
      checksums: args.downloads?.checksums ?? {},
      cacheDir: args.downloads?.cacheDir ?? "/var/cache/kubeplug/downloads",
    },
    cni: args.cni ?? { binDir: "/opt/cni/bin", confDir: "/etc/cni/net.d" },
    virtualization: args.virtualization,
  } as const;
  const findings = new Findings();
  check(parsed.data, findings.at(kind), context);
  if (findings.problems.length > 0) throw new KubeplugConfigError(findings.problems);
  return { config: parsed.data, context, warnings: findings.warnings };
}

export function warnAll(warnings: readonly ConfigWarning[], resource: pulumi.Resource): void {
  for (const w of warnings) pulumi.log.warn(`${w.path}: ${w.message}`, resource);
}

/** What every runtime component exposes: the kubelet's endpoint, a config hash, its handlers and node steps. */
export abstract class PoolRuntimeComponent<Rendered extends { readonly runtimeEndpoint: string; readonly configHash: string }> extends pulumi.ComponentResource {
  /** The kubelet's `containerRuntimeEndpoint`. */
  readonly runtimeEndpoint: pulumi.Output<string>;
  /** Changes exactly when a node's runtime files change. */
  readonly configHash: pulumi.Output<string>;
  /** Handler names this runtime knows: what a RuntimeClass may point at. */
  readonly handlers: readonly string[];
  /** Per node, its steps in dependency order; the last one (configure) is what dependents wait for. */
  readonly nodeSteps: Readonly<Record<string, readonly NodeStep[]>>;
  readonly rendered: Rendered;

  protected constructor(
    type: string,
    name: string,
    opts: pulumi.ComponentResourceOptions | undefined,
    build: (parent: pulumi.ComponentResource) => { rendered: Rendered; handlers: readonly string[]; nodeSteps: Record<string, NodeStep[]> },
  ) {
    super(type, name, {}, opts);
    const built = build(this);
    this.rendered = built.rendered;
    this.handlers = built.handlers;
    this.nodeSteps = built.nodeSteps;
    this.runtimeEndpoint = pulumi.output(built.rendered.runtimeEndpoint);
    this.configHash = pulumi.output(built.rendered.configHash);
    this.registerOutputs({ runtimeEndpoint: this.runtimeEndpoint, configHash: this.configHash });
  }
}
