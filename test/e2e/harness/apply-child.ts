/**
 * TEST HARNESS, not a Pulumi engine: runs kubeplug's Pulumi program under pulumi.runtime.setMocks and,
 * for every `command:remote:Command` the program registers, really runs its `create` over SSH with its
 * `connection` and `stdin`, in the program's own dependency order (the SDK registers a resource only
 * after its dependencies resolved). What is executed is the component's inputs themselves.
 *
 * Input: JSON in $KUBEPLUG_HARNESS_INPUT (see ApplyInput). Output: the ApplyReport as JSON in the
 * file $KUBEPLUG_HARNESS_REPORT.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { parseStepResult } from "../../../src/components/node/node-step";
import { ApplyInput, ApplyReport, CommandRun } from "./report";
import { CommandConnection, sshExec } from "./ssh-exec";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

function unwrap(value: unknown): unknown {
  if (value && typeof value === "object" && SECRET_SIG in (value as object)) return (value as { value: unknown }).value;
  return value;
}

const input = JSON.parse(process.env.KUBEPLUG_HARNESS_INPUT!) as ApplyInput;
const runs = new Map<string, CommandRun>();
const inFlight = new Set<Promise<unknown>>();
let lastActivity = Date.now();
const previousState: Record<string, string> = input.stateFile && existsSync(input.stateFile) ? JSON.parse(readFileSync(input.stateFile, "utf8")) : {};
const nextState: Record<string, string> = { ...previousState };

function inputsHash(inputs: Record<string, unknown>): string {
  const { connection, create, stdin, triggers } = inputs;
  return createHash("sha256").update(JSON.stringify([unwrap(connection), create, unwrap(stdin), triggers])).digest("hex");
}

/**
 * Runs one resource's work as the engine would create it, once per inputs when a state file is given,
 * and records it: its status, time and, on failure, its error prefixed with its name, as Pulumi does.
 */
async function tracked(name: string, inputs: Record<string, unknown>, work: (run: CommandRun) => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const [node, ...rest] = name.split("-");
  const run: CommandRun = { name, node: node!, step: rest.join("-"), status: "running", ms: 0, stdout: "", stderr: "" };
  runs.set(name, run);
  const hash = inputsHash(inputs);
  if (input.stateFile && previousState[name] === hash) {
    run.status = "unchanged";
    return { ...inputs, stdout: "", stderr: "" };
  }
  delete nextState[name];
  const started = Date.now();
  try {
    const state = await work(run);
    run.status = "ok";
    nextState[name] = hash;
    return state;
  } catch (error) {
    run.status = "failed";
    const message = (error as Error).message;
    run.error = message.startsWith(`${name}: `) ? message : `${name}: ${message}`;
    throw error;
  } finally {
    run.ms = Date.now() - started;
    lastActivity = Date.now();
  }
}

function runCommand(name: string, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  return tracked(name, inputs, async (run) => {
    const result = await sshExec(unwrap(inputs.connection) as CommandConnection, inputs.create as string, {
      stdin: (unwrap(inputs.stdin) as string | undefined) ?? "",
      ...(input.dropConnection?.command === name ? { dropWhenStdout: new RegExp(input.dropConnection.whenStdout) } : {}),
    });
    Object.assign(run, { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode });
    if (result.dropped) throw new Error(`${name}: connection to ${(unwrap(inputs.connection) as CommandConnection).host} dropped mid-step`);
    if (result.exitCode !== 0) throw new Error(`${name}: process exited with status ${result.exitCode}: ${result.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    const parsed = parseStepResult(result.stdout);
    if (parsed) run.result = parsed;
    return { ...inputs, stdout: result.stdout, stderr: result.stderr };
  });
}

/**
 * A CopyToRemote's upload (the step library's installer): the file's bytes go to remotePath through
 * `cat` on the login shell's stdin, a stand-in for the provider's SFTP, as the login user, like it.
 */
function copyToRemote(name: string, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  return tracked(name, inputs, async (run) => {
    const path = await (inputs.source as { path: string | Promise<string> }).path;
    const remotePath = inputs.remotePath as string;
    const result = await sshExec(unwrap(inputs.connection) as CommandConnection, `mkdir -p "$(dirname '${remotePath}')" && cat >'${remotePath}'`, { stdin: readFileSync(path, "utf8") });
    Object.assign(run, { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode });
    if (result.exitCode !== 0) throw new Error(`${name}: upload to ${remotePath} exited with status ${result.exitCode}: ${result.stderr.trim()}`);
    return inputs;
  });
}

async function main(): Promise<void> {
  const doc = yaml.load(readFileSync(input.stackFile, "utf8")) as { config: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(doc.config)) {
    const secure = typeof value === "object" && value !== null && "secure" in value;
    const secretName = key.replace(/^kubeplug:/, "");
    if (secure) {
      config[key] = input.secrets?.[secretName] ?? "";
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  pulumi.runtime.setAllConfig(config, secretKeys);
  const stepNames: string[] = [];
  const libraryNames: string[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        lastActivity = Date.now();
        const run = args.type === "command:remote:Command" ? runCommand : args.type === "command:remote:CopyToRemote" ? copyToRemote : undefined;
        if (!run) return { id: `${args.name}-id`, state: args.inputs };
        const pending = run(args.name, args.inputs).then((state) => ({ id: `${args.name}-id`, state }));
        inFlight.add(pending);
        pending.catch(() => undefined).finally(() => inFlight.delete(pending));
        return pending;
      },
      call: () => ({}),
    },
    "kubeplug",
    input.stack,
  );

  const report: ApplyReport = { ok: true, errors: [], commands: [], libraries: [] };
  process.on("unhandledRejection", (error) => report.errors.push(String((error as Error)?.message ?? error)));
  const { stackProgram } = await import("../../../src/stack-program");
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      // Every step the program declares, including those that never register because a dependency failed.
      pulumi.runtime.registerStackTransformation((args) => {
        if (args.type === "kubeplug:node:NodeStep") stepNames.push(args.name);
        if (args.type === "command:remote:CopyToRemote" || (args.type === "command:remote:Command" && args.name.endsWith("-node-library"))) libraryNames.push(args.name);
        return undefined;
      });
      return stackProgram();
    });
  } catch (error) {
    report.errors.push((error as Error).message);
  }
  // Dependents of a failed step never register; wait until nothing has happened for a while.
  while (inFlight.size > 0 || Date.now() - lastActivity < 1500) await new Promise((r) => setTimeout(r, 100));

  const declared = (name: string): CommandRun => runs.get(name) ?? { name, node: name.split("-")[0]!, step: name.split("-").slice(1).join("-"), status: "skipped", ms: 0, stdout: "", stderr: "" };
  report.commands.push(...stepNames.map(declared));
  // The step library's upload and install are not steps; one that failed is also an error of the apply.
  report.libraries.push(...libraryNames.map(declared));
  for (const run of report.libraries) if (run.status === "failed") report.errors.push(run.error!);
  report.ok = report.commands.every((c) => c.status === "ok" || c.status === "unchanged") && report.errors.length === 0;
  if (input.stateFile) writeFileSync(input.stateFile, JSON.stringify(nextState, null, 2));
  writeFileSync(process.env.KUBEPLUG_HARNESS_REPORT!, JSON.stringify(report));
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(70);
});
