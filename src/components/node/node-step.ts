import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { becomeFor, commandConnection, NodeConnection } from "./connection";
import { ConfigWarning } from "../../errors";
import { libraryInstallCommand, libraryInstallerFile, libraryUploadPath, stepLibrary } from "./library";
import { NodeStepSpec, remoteCommand, StepRef } from "./step";

export interface NodeStepArgs {
  /** The node the step runs on, over SSH. */
  readonly connection: NodeConnection;
  /** The rendered step (from a plan's NodePlan.steps): its script, content hash and dependencies. */
  readonly spec: NodeStepSpec;
  /** Secret payload the script reads on stdin (credentials); never part of the script. */
  readonly stdin?: pulumi.Input<string>;
}

/** What a step reports on its last stdout line (`KUBEPLUG_RESULT {...}`, printed by kp_end). */
export interface StepResult {
  readonly node: string;
  readonly step: string;
  readonly changed: readonly string[];
  readonly restarted: readonly string[];
  /** What the step could not do on this node and did not fail for, each with the reason (kp_skip). */
  readonly skipped?: readonly string[];
}

export const RESULT_MARKER = "KUBEPLUG_RESULT ";

/**
 * A step's result from its stdout; undefined when the step has not run or printed no result line.
 * Nothing runs during preview, and a test mock (`pulumi.runtime.setMocks`) that returns only the
 * inputs gives a Command no stdout at all: both mean "not run", never an error.
 */
export function parseStepResult(stdout: string | undefined): StepResult | undefined {
  if (typeof stdout !== "string") return undefined;
  const line = stdout.split("\n").reverse().find((l) => l.startsWith(RESULT_MARKER));
  return line ? (JSON.parse(line.slice(RESULT_MARKER.length)) as StepResult) : undefined;
}

/**
 * One node step: the rendered script runs over SSH as a single `command.remote.Command`. Files travel
 * inside the script (staged, then installed atomically by the script), so they show in
 * `pulumi preview --diff`, need no SFTP as root, and the step is one resource per node, not one per file.
 */
export class NodeStep extends pulumi.ComponentResource {
  readonly contentHash: string;
  readonly command: command.remote.Command;
  /** What changed on the node in the last run: unknown during preview, undefined where the step has not run (parseStepResult). */
  readonly result: pulumi.Output<StepResult | undefined>;

  constructor(name: string, args: NodeStepArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubeplug:node:NodeStep", name, { node: args.spec.node.name, step: args.spec.id, contentHash: args.spec.contentHash }, opts);
    const { spec } = args;
    this.contentHash = spec.contentHash;
    const secret = args.stdin !== undefined;
    this.command = new command.remote.Command(
      name,
      {
        connection: commandConnection(args.connection),
        create: remoteCommand(spec.script, becomeFor(args.connection)),
        // A changed script means a changed node: replace, so the preview says which step re-runs.
        // There is no `delete`: the replaced step's successor owns the same files, and removing
        // containerd from a live node because a config line changed would take the node down.
        triggers: [spec.contentHash],
        addPreviousOutputInEnv: false,
        ...(secret ? { stdin: pulumi.secret(args.stdin!), logging: "stdout" as const } : { logging: "stdoutAndStderr" as const }),
      },
      { parent: this, ...(secret ? { additionalSecretOutputs: ["stdin"] } : {}) },
    );
    this.result = this.command.stdout.apply(parseStepResult);
    this.registerOutputs({ contentHash: this.contentHash, result: this.result });
  }
}

/**
 * A node's step library (library.ts): the installer uploaded as a file asset, so state keeps its
 * hash and not its text, then run as root. Every step of the node waits for it and refuses to run
 * without it.
 */
export class NodeLibrary extends pulumi.ComponentResource {
  readonly command: command.remote.Command;

  constructor(name: string, args: { readonly node: string; readonly connection: NodeConnection }, opts?: pulumi.ComponentResourceOptions) {
    const library = stepLibrary();
    super("kubeplug:node:NodeLibrary", name, { node: args.node, library: library.hash }, opts);
    const connection = commandConnection(args.connection);
    const remotePath = libraryUploadPath();
    const upload = new command.remote.CopyToRemote(
      `${name}-upload`,
      { connection, source: new pulumi.asset.FileAsset(libraryInstallerFile()), remotePath, triggers: [library.installerHash] },
      { parent: this },
    );
    this.command = new command.remote.Command(
      name,
      {
        connection,
        create: libraryInstallCommand(remotePath, becomeFor(args.connection), args.node),
        triggers: [library.hash],
        addPreviousOutputInEnv: false,
        logging: "stdoutAndStderr",
      },
      { parent: this, dependsOn: [upload] },
    );
    this.registerOutputs({});
  }
}

/** One NodeLibrary per node for everything that shares this registry (a Cluster's pools, or one component). */
export class NodeLibraries {
  private readonly byNode = new Map<string, NodeLibrary>();

  /** `prefix` keeps the resource names of two standalone components on one node apart. */
  constructor(
    private readonly prefix: string,
    private readonly parent: pulumi.Resource,
  ) {}

  forNode(node: string, connection: NodeConnection): NodeLibrary {
    let library = this.byNode.get(node);
    if (!library) {
      library = new NodeLibrary(`${this.prefix}${node}-node-library`, { node, connection }, { parent: this.parent });
      this.byNode.set(node, library);
    }
    return library;
  }
}

/**
 * Every node's steps by node and step id, for steps that wait for other nodes' (a runtime swap's
 * waves). A lookup is a promise: the step it names may belong to a component created later, and
 * Pulumi takes promises in dependsOn. The plan only names steps that exist.
 */
export class StepDirectory {
  private readonly entries = new Map<string, { readonly promise: Promise<NodeStep>; readonly resolve: (step: NodeStep) => void }>();

  private entry(ref: StepRef) {
    const key = `${ref.node}/${ref.step}`;
    let entry = this.entries.get(key);
    if (!entry) {
      let resolve!: (step: NodeStep) => void;
      const promise = new Promise<NodeStep>((r) => (resolve = r));
      entry = { promise, resolve };
      this.entries.set(key, entry);
    }
    return entry;
  }

  register(ref: StepRef, step: NodeStep): void {
    this.entry(ref).resolve(step);
  }

  lookup(ref: StepRef): Promise<NodeStep> {
    return this.entry(ref).promise;
  }
}

/** A node and the step specs a plan gives it, with the connection the steps run over. */
export interface PlannedNode {
  readonly name: string;
  readonly connection: NodeConnection;
  readonly steps: readonly NodeStepSpec[];
  /** Where steps that wait for other nodes find them; needed when any spec has waitsFor. */
  readonly directory?: StepDirectory;
  /** Shared with the other components on the node (a Cluster's); without it the component installs its own. */
  readonly libraries?: NodeLibraries;
}

/** A node's steps as NodeStep resources, each depending on the steps its spec names, on this node and others. */
export function createNodeSteps(node: PlannedNode, stdin: pulumi.Output<string> | undefined, parent: pulumi.Resource, ownLibraries: NodeLibraries): NodeStep[] {
  const byId = new Map<string, NodeStep>();
  const library = node.steps.length > 0 ? (node.libraries ?? ownLibraries).forNode(node.name, node.connection) : undefined;
  for (const spec of node.steps) {
    const others = (spec.waitsFor ?? []).map((ref) => {
      if (!node.directory) throw new Error(`node step ${node.name}/${spec.id} waits for other nodes' steps, but its component has no StepDirectory`);
      return node.directory.lookup(ref);
    });
    const step = new NodeStep(
      `${node.name}-${spec.id}`,
      { connection: node.connection, spec, ...(spec.secret && stdin ? { stdin } : {}) },
      { parent, dependsOn: [library!, ...spec.dependsOn.map((id) => byId.get(id)!), ...others] },
    );
    byId.set(spec.id, step);
    node.directory?.register({ node: node.name, step: spec.id }, step);
  }
  return [...byId.values()];
}

/** Joins a standalone component's planned steps with the connections of its Args, by node name. */
export function connectPlanned(planned: readonly { readonly name: string; readonly steps: readonly NodeStepSpec[] }[], nodes: readonly { readonly name: string; readonly connection: NodeConnection }[]): PlannedNode[] {
  const connections = new Map(nodes.map((n) => [n.name, n.connection]));
  return planned.map((n) => ({ ...n, connection: connections.get(n.name)! }));
}

/** A standalone component's warnings, printed once, under the component. */
export function warnAll(warnings: readonly ConfigWarning[], resource: pulumi.Resource): void {
  for (const w of warnings) pulumi.log.warn(`${w.path}: ${w.message}`, resource);
}
