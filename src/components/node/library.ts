import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { sha256 } from "../../util/hash";
import { heredoc, shellQuote } from "./shell";

/** Where every node keeps its step libraries, one directory per library hash. */
export const LIBRARY_ROOT = "/var/lib/kubeplug/lib";

/**
 * The bash kubeplug's steps share (the prelude, the service functions, every step body), installed
 * once per node instead of travelling inside each step: a step then carries only its variables,
 * files and the names of the fragments it sources, so Pulumi's state holds each library once per
 * node as a file asset's hash, not once per step as script text.
 */
export interface StepLibrary {
  /** sha256 of its SHA256SUMS file, which lists every fragment's sha256: the directory's name on the node. */
  readonly hash: string;
  /** Fragment paths relative to src/components (`node/prelude.sh`), by content. */
  readonly pathOf: ReadonlyMap<string, string>;
  /** Bash that installs the library under LIBRARY_ROOT/<hash>: `bash installer NODE_NAME`, as root. */
  readonly installer: string;
  readonly installerHash: string;
}

const COMPONENTS_DIR = join(__dirname, "..");

function fragments(): [path: string, content: string][] {
  return readdirSync(COMPONENTS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((domain) => {
      const dir = join(COMPONENTS_DIR, domain.name, "scripts");
      let names: string[];
      try {
        names = readdirSync(dir).filter((f) => f.endsWith(".sh"));
      } catch {
        return [];
      }
      return names.map((name): [string, string] => [`${domain.name}/${name}`, readFileSync(join(dir, name), "utf8")]);
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Bash that succeeds only when the directory in variable `dir` holds library `hash` (a bash
 * expression; default: the directory's own name) unchanged: SHA256SUMS hashes to it and every file
 * matches SHA256SUMS. Used by the installer and by each step before it sources anything.
 */
export function libraryIntactTest(dir: string, hash = `\${${dir}##*/}`): string {
  return `(cd "$${dir}" && [ "$(sha256sum SHA256SUMS)" = "${hash}  SHA256SUMS" ] && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1`;
}

function buildLibrary(): StepLibrary {
  const files = fragments();
  if (!files.some(([path]) => path === "node/prelude.sh")) throw new Error(`kubeplug's step scripts are not under ${COMPONENTS_DIR}/*/scripts: the package is incomplete`);
  const sums = files.map(([path, content]) => `${sha256(content)}  ${path}\n`).join("");
  const hash = sha256(sums);
  const dirs = [...new Set(files.map(([path]) => path.split("/")[0]!))];
  const installer = [
    "#!/usr/bin/env bash",
    `# kubeplug step library ${hash}: the bash every kubeplug node step sources, installed once per node`,
    `# under ${LIBRARY_ROOT}/${hash}. Run as root: bash <this file> NODE_NAME. A second run changes nothing.`,
    "set -euo pipefail",
    `root=${LIBRARY_ROOT}`,
    `hash=${hash}`,
    'lib=$root/$hash',
    'node=${1:?usage: bash <this file> NODE_NAME}',
    `intact() { local dir=$1; ${libraryIntactTest("dir", "$hash")}; }`,
    `result() { printf 'KUBEPLUG_RESULT {"node":"%s","step":"node-library","changed":[%s],"restarted":[]}\\n' "$node" "$1"; }`,
    'if intact "$lib"; then result ""; exit 0; fi',
    "umask 022",
    'mkdir -p "$root"',
    // A killed run leaves its stage behind; no run lasts ten minutes.
    'find "$root" -mindepth 1 -maxdepth 1 -name ".stage.*" -mmin +10 -exec rm -rf {} +',
    'stage=$(mktemp -d "$root/.stage.XXXXXX")',
    "trap 'rm -rf \"$stage\" \"$stage.old\"' EXIT",
    `mkdir ${dirs.map((d) => `"$stage/${d}"`).join(" ")}`,
    ...files.map(([path, content]) => heredoc(`cat >"$stage/${path}"`, content, "KUBEPLUG_LIBRARY_FILE").trimEnd()),
    heredoc('cat >"$stage/SHA256SUMS"', sums, "KUBEPLUG_LIBRARY_FILE").trimEnd(),
    `intact "$stage" || { echo "kubeplug: node $node: the step library written to $stage does not match its hashes (is the disk full?); nothing was installed" >&2; exit 1; }`,
    'sync "$stage"/*/*.sh "$stage/SHA256SUMS"',
    // A library dir that exists but is not intact was changed by hand: replaced whole.
    'if [ -e "$lib" ]; then mv -T "$lib" "$stage.old"; fi',
    // Another run that installed the same library first has won; what it installed is checked.
    'if ! mv -T "$stage" "$lib"; then intact "$lib" || exit 1; fi',
    // Libraries of earlier kubeplug versions: the three newest stay for steps of an apply still under way.
    'find "$root" -mindepth 1 -maxdepth 1 -type d ! -name ".*" ! -path "$lib" -printf "%T@ %p\\n" | sort -rn | tail -n +4 | cut -d" " -f2- | xargs -r rm -rf --',
    'result "\\"$lib\\""',
    "",
  ].join("\n");
  return { hash, pathOf: new Map(files.map(([path, content]) => [content, path])), installer, installerHash: sha256(installer) };
}

let library: StepLibrary | undefined;

/** The library of this kubeplug build (read once from the shipped fragments). */
export function stepLibrary(): StepLibrary {
  return (library ??= buildLibrary());
}

/**
 * The command that installs the library: copies the installer to a private file, checks it is this
 * build's (the upload path is writable by the login user), then runs it as root. `from` is the
 * uploaded file, or stdin.
 */
export function libraryInstallCommand(from: string | "stdin", become: "root" | "sudo", node: string): string {
  const { installerHash } = stepLibrary();
  return [
    "set -e",
    "kubeplug_library=$(mktemp)",
    "trap 'rm -f \"$kubeplug_library\"' EXIT",
    `cat ${from === "stdin" ? "" : `${shellQuote(from)} `}>"$kubeplug_library"`,
    `echo ${shellQuote(`${installerHash}  `)}"$kubeplug_library" | sha256sum --quiet --strict -c - >/dev/null 2>&1 || { echo "kubeplug[${node}]: the step library installer on the node is not the one kubeplug uploaded (sha256 ${installerHash}); nothing ran" >&2; exit 1; }`,
    `${become === "sudo" ? "sudo -n bash" : "bash"} "$kubeplug_library" ${shellQuote(node)}`,
    "",
  ].join("\n");
}

/** Where the installer is uploaded from: a file in the project's .kubeplug directory, relative so state does not hold a machine's path. */
export function libraryInstallerFile(projectDir = process.cwd()): string {
  const { installer, installerHash } = stepLibrary();
  const relative = join(".kubeplug", `library-${installerHash}.sh`);
  const file = join(projectDir, relative);
  if (!existsSync(file) || sha256(readFileSync(file, "utf8")) !== installerHash) {
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, installer);
    renameSync(temp, file);
  }
  return relative;
}

/** Remote path of the uploaded installer: named by its hash, so a stale upload is never taken for this one. */
export function libraryUploadPath(): string {
  return `/tmp/kubeplug-library-${stepLibrary().installerHash}.sh`;
}
