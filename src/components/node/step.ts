import { SecretRef, secretRefId } from "../../config/secrets";
import { hashParts, sha256 } from "../../util/hash";
import { modeString, RenderedFile } from "./files";
import { LIBRARY_ROOT, libraryIntactTest, stepLibrary } from "./library";
import { bashAssignment, heredoc, scriptAsset, ScriptVar } from "./shell";

export type StepPhase = "install" | "configure" | "verify";

/** What a step needs to know about the node it runs on. */
export interface StepNode {
  /** Node name, as in the stack file. */
  readonly name: string;
  /** CPU architecture (amd64, arm64): picks the download artifacts. */
  readonly arch: string;
}

/** Describes the payload a step reads on stdin; the values themselves never enter the plan. */
export interface SecretPayload {
  /** For the plan: what is in it, e.g. "registry credentials for mirror.example.com". */
  readonly description: string;
  /** Rendered files the step completes with the payload on the node, so their bytes are not in the plan. */
  readonly completes?: readonly string[];
  /**
   * Changes when what the payload is made of changes (registries, user names, which secret each
   * password comes from), never with a value: the render shows such a change without any secret in it.
   */
  readonly fingerprint: string;
}

/** The fingerprint of a payload made of these credentials: a hash of their references, no values. */
export function credentialsFingerprint(credentials: readonly { readonly registry: string; readonly username: string; readonly password: SecretRef }[]): string {
  return hashParts(credentials.map((c) => [c.registry, `${c.username}\0${secretRefId(c.password)}`] as const));
}

export interface StepDefinition {
  /** The node the step is rendered for. */
  readonly node: StepNode;
  /** Unique per node, e.g. `containerd-configure`; also names the log and ownership files on the node. */
  readonly id: string;
  /** install, configure or verify: shown beside the step in the plan text and in its script header. */
  readonly phase: StepPhase;
  /** One line for the plan. */
  readonly summary: string;
  /** Script variables (KP_*) the body reads. */
  readonly vars: Readonly<Record<string, ScriptVar>>;
  /** Files embedded in the script and staged before the body runs; the body decides how to install them. */
  readonly files: readonly RenderedFile[];
  /** Bash fragments that make up the body, in order: the shipped ones (scripts/*.sh) are sourced from the node's step library, others go inline. */
  readonly body: readonly string[];
  /** What the step reads on stdin, when it needs secrets; absent for steps without credentials. */
  readonly secret?: SecretPayload;
  /** Ids of steps on the same node that must have succeeded first. */
  readonly dependsOn: readonly string[];
}

/** A step of another node, by node name and step id. */
export interface StepRef {
  /** The other node's name. */
  readonly node: string;
  /** The step's id on that node, e.g. `swap-start` (a runtime swap's last step on an earlier wave's node). */
  readonly step: string;
}

/** A rendered node step: exactly what `pulumi up` runs on the node and what `npm run render` writes. */
export interface NodeStepSpec extends Omit<StepDefinition, "body" | "vars"> {
  /** The whole bash script: header variables, staged files and body; it sources the node's step library by hash. */
  readonly script: string;
  /** Changes exactly when the script (and so any file it installs) changes. */
  readonly contentHash: string;
  /** Steps of other nodes that must have succeeded first (a runtime swap's waves). */
  readonly waitsFor?: readonly StepRef[];
}

/** Scripts travel as one argument to the login shell (`sh -c`), which Linux caps at 128 KiB. */
export const MAX_SCRIPT_BYTES = 120 * 1024;

/**
 * For steps that manage a daemon: the functions of scripts/service.sh and the variables they read.
 * `check` names a shell function (in a body fragment) that says whether the daemon is healthy.
 */
export function serviceStepParts(unit: string, version: string, check: string, timeoutSeconds = 60): { vars: Record<string, string>; library: string } {
  return {
    vars: { KP_SERVICE: unit, KP_SERVICE_VERSION: version, KP_SERVICE_CHECK: check, KP_SERVICE_TIMEOUT: String(timeoutSeconds) },
    library: scriptAsset(__dirname, "service.sh"),
  };
}
const HASH_PLACEHOLDER = "@@KUBEPLUG_SCRIPT_HASH@@";
/** The fragments are sourced from the node's library, so shellcheck can neither follow them nor see them read the header's variables. */
export const UNUSED_VARS_DIRECTIVE = "# shellcheck disable=SC1090,SC1091,SC2034";

export function buildNodeStep(definition: StepDefinition): NodeStepSpec {
  const { body, vars, ...rest } = definition;
  const library = stepLibrary();
  const source = (fragment: string) => {
    const path = library.pathOf.get(fragment);
    return path ? `source "$KP_LIB/${path}"\n` : fragment;
  };
  const header = [
    "#!/usr/bin/env bash",
    `# kubeplug node step "${definition.id}" (${definition.phase}) for node ${definition.node.name}, generated from the stack config: ${definition.summary}`,
    UNUSED_VARS_DIRECTIVE,
    "set -Eeuo pipefail",
    bashAssignment("KP_NODE", definition.node.name),
    bashAssignment("KP_STEP", definition.id),
    bashAssignment("KP_ARCH", definition.node.arch),
    `KP_SCRIPT_HASH=${HASH_PLACEHOLDER}`,
    ...Object.entries(vars).map(([name, value]) => bashAssignment(name, value)),
    `KP_LIB=${LIBRARY_ROOT}/${library.hash}`,
    // Before anything is sourced or written: a step never runs with a library other than the one it was rendered with.
    `${libraryIntactTest("KP_LIB")} || { echo "kubeplug[$KP_NODE/$KP_STEP]: no intact step library $KP_LIB here; the node's node-library step installs it. Nothing changed." >&2; exit 1; }`,
    "",
  ].join("\n");
  const staging = definition.files
    .map((file) => heredoc(`kp_stage_file ${JSON.stringify(file.path)} ${modeString(file.mode)}`, file.content, "KUBEPLUG_FILE"))
    .join("");
  const template = [header, source(scriptAsset(__dirname, "prelude.sh")), "\nkp_begin\n", staging, ...body.map(source), "\nkp_end\n"].join("");
  const contentHash = sha256(template);
  const script = template.replace(HASH_PLACEHOLDER, contentHash);
  // UTF-8 takes at most 3 bytes per UTF-16 unit, so only a long script is worth counting in bytes.
  if (script.length * 3 > MAX_SCRIPT_BYTES && Buffer.byteLength(script) > MAX_SCRIPT_BYTES) {
    throw new Error(`node step ${definition.node.name}/${definition.id} renders to ${Buffer.byteLength(script)} bytes, over the ${MAX_SCRIPT_BYTES}-byte limit of one SSH command`);
  }
  return { ...rest, script, contentHash };
}

/**
 * The command the login shell runs: the script goes to a private temp file through a quoted heredoc
 * (nothing in it is expanded), then bash runs it with stdin still free for the secret payload.
 */
export function remoteCommand(script: string, become: "root" | "sudo"): string {
  const runner = become === "sudo" ? "sudo -n bash" : "bash";
  return [
    "set -e",
    'kubeplug_script=$(mktemp)',
    'trap \'rm -f "$kubeplug_script"\' EXIT',
    heredoc('cat >"$kubeplug_script"', script, "KUBEPLUG_STEP_SCRIPT").trimEnd(),
    `${runner} "$kubeplug_script"`,
    "",
  ].join("\n");
}
