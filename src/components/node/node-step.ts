import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { becomeFor, commandConnection, NodeConnection } from "./connection";
import { ConfigWarning } from "../../errors";
import { NodeStepSpec, remoteCommand } from "./step";

export interface NodeStepArgs {
  readonly connection: NodeConnection;
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

export function parseStepResult(stdout: string): StepResult | undefined {
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
  /** What changed on the node in the last run. Unknown during preview: nothing runs then. */
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

/** A node and the step specs a plan gives it, with the connection the steps run over. */
export interface PlannedNode {
  readonly name: string;
  readonly connection: NodeConnection;
  readonly steps: readonly NodeStepSpec[];
}

/** A node's steps as NodeStep resources, each depending on the steps its spec names. */
export function createNodeSteps(node: PlannedNode, stdin: pulumi.Output<string> | undefined, parent: pulumi.Resource): NodeStep[] {
  const byId = new Map<string, NodeStep>();
  for (const spec of node.steps) {
    const step = new NodeStep(
      `${node.name}-${spec.id}`,
      { connection: node.connection, spec, ...(spec.secret && stdin ? { stdin } : {}) },
      { parent, dependsOn: spec.dependsOn.map((id) => byId.get(id)!) },
    );
    byId.set(spec.id, step);
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
