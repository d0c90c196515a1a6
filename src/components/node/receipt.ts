import { sha256 } from "../../util/hash";
import { scriptAsset } from "./shell";
import { StepDefinition } from "./step";

/**
 * An install step that records what it installed (scripts/receipt.sh) and, on a converged node,
 * proves itself from that record instead of reading its release tarball again. The key is the
 * sha256 of what the step wants: its id, every variable and every rendered file (path, mode, bytes).
 * It leaves out the step library, so a kubeplug upgrade that re-runs every step still finds the
 * receipts current, and it changes with anything the install would do differently: the version,
 * the source and its checksum, the prefix, the unit, the files taken from the archive.
 */
export function withInstallReceipt(definition: StepDefinition): StepDefinition {
  const vars = Object.fromEntries(Object.entries(definition.vars).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const files = definition.files.map((f) => [f.path, f.mode, f.content]);
  const key = sha256(JSON.stringify([definition.id, vars, files]));
  return { ...definition, vars: { ...definition.vars, KP_RECEIPT_KEY: key }, body: [scriptAsset(__dirname, "receipt.sh"), ...definition.body] };
}
