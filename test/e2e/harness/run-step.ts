import { readFileSync } from "node:fs";
import { libraryInstallCommand, stepLibrary } from "../../../src/components/node/library";
import { parseStepResult } from "../../../src/components/node/node-step";
import { buildNodeStep, NodeStepSpec, remoteCommand, StepDefinition } from "../../../src/components/node/step";
import type { Testbed } from "../testbed";
import { CommandRun } from "./report";
import { sshExec } from "./ssh-exec";

/**
 * Runs one step on a bed node exactly as its NodeStep's Command would (the same rendered script
 * through remoteCommand, over SSH as root), for steps that no stack plans yet or that a test wants
 * to run with inputs no stack can express. Status "failed" is a result, not an error.
 */
export async function runStep(bed: Testbed, definition: StepDefinition): Promise<CommandRun> {
  return runSpec(bed, definition.node.name, buildNodeStep(definition));
}

/** The SSH connection to a bed node, as root with the bed's key. */
export function bedConnection(bed: Testbed, nodeName: string) {
  const node = bed.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node ${nodeName} in this test bed`);
  return { host: node.address, user: "root", privateKey: readFileSync(bed.keyPath, "utf8") };
}

/**
 * Installs the step library on a bed node as its NodeLibrary would; the installer travels on stdin,
 * a stand-in for the CopyToRemote upload. A second run changes nothing.
 */
export async function installLibrary(bed: Testbed, nodeName: string): Promise<void> {
  const result = await sshExec(bedConnection(bed, nodeName), libraryInstallCommand("stdin", "root", nodeName), { stdin: stepLibrary().installer });
  if (result.exitCode !== 0) throw new Error(`${nodeName}: the step library install exited with ${result.exitCode}: ${result.stderr.trim()}`);
}

/** Runs one rendered step (a plan's NodeStepSpec) on a bed node, as its Command would, after the library install its NodeLibrary runs first. */
export async function runSpec(bed: Testbed, nodeName: string, spec: NodeStepSpec): Promise<CommandRun> {
  const connection = bedConnection(bed, nodeName);
  const node = bed.nodes.find((n) => n.name === nodeName)!;
  await installLibrary(bed, nodeName);
  const started = Date.now();
  const result = await sshExec(connection, remoteCommand(spec.script, "root"));
  const parsed = result.exitCode === 0 ? parseStepResult(result.stdout) : undefined;
  return {
    name: `${node.name}-${spec.id}`,
    node: node.name,
    step: spec.id,
    status: result.exitCode === 0 ? "ok" : "failed",
    exitCode: result.exitCode,
    ms: Date.now() - started,
    stdout: result.stdout,
    stderr: result.stderr,
    ...(parsed ? { result: parsed } : {}),
  };
}
