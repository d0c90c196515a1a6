/**
 * The probe's two ends: the script sent to one node (its expectations as bash arrays, then
 * scripts/probe.sh) and the parser of the report it prints back. Pure.
 */
import { bashAssignment, scriptAsset } from "../components/node/shell";
import { ExpectedNode } from "./expected";

export interface ProbedFile {
  readonly state: "file" | "missing" | "other";
  readonly sha256?: string;
  /** Octal, as `stat -c %a` prints it: "644". */
  readonly mode?: string;
  /** user:group */
  readonly owner?: string;
  /** Seconds since the epoch. */
  readonly mtime?: number;
}

export interface ProbedUnit {
  readonly active: string;
  readonly enabled: string;
  /** When it last became active, seconds since the epoch; 0 when it is not active. */
  readonly startedAt: number;
  /** The first line of `BINARY --version`, absent when the binary is not on PATH. */
  readonly versionLine?: string;
}

/** What one node has, as the probe saw it. */
export interface ProbeReport {
  /** path → the step that owns it and the sha256 it recorded. */
  readonly owned: ReadonlyMap<string, { readonly step: string; readonly sha256: string }>;
  /** path → the mode (octal, as `stat -c %a` prints it) and owner an install receipt recorded for it. */
  readonly receipts: ReadonlyMap<string, { readonly step: string; readonly mode: string; readonly owner: string }>;
  readonly files: ReadonlyMap<string, ProbedFile>;
  /** name → dpkg's status ("installed", "not-installed", ...) and version. */
  readonly packages: ReadonlyMap<string, { readonly status: string; readonly version?: string }>;
  readonly units: ReadonlyMap<string, ProbedUnit>;
  readonly pending: readonly { readonly unit: string; readonly kind: "restart" | "reload" }[];
  /** Why the probe could not look (not root). */
  readonly error?: string;
}

/** The script `bash -s` reads on the node's stdin. */
export function probeScript(expected: ExpectedNode): string {
  const header = [
    bashAssignment("KP_PROBE_STEPS", expected.steps),
    bashAssignment("KP_PROBE_FILES", expected.files.map((f) => f.path)),
    bashAssignment("KP_PROBE_PACKAGES", expected.packages.map((p) => p.name)),
    bashAssignment("KP_PROBE_UNITS", expected.units.map((u) => `${u.name}=${u.binary}`)),
  ].join("\n");
  return `${header}\n${scriptAsset(__dirname, "probe.sh")}`;
}

const dash = (value: string | undefined) => (value === undefined || value === "-" ? undefined : value);

/** The report, or a reason it is not one (cut short, or lines the probe does not print). */
export function parseProbe(stdout: string): ProbeReport | { readonly invalid: string } {
  const owned = new Map<string, { step: string; sha256: string }>();
  const receipts = new Map<string, { step: string; mode: string; owner: string }>();
  const files = new Map<string, ProbedFile>();
  const packages = new Map<string, { status: string; version?: string }>();
  const units = new Map<string, ProbedUnit>();
  const pending: { unit: string; kind: "restart" | "reload" }[] = [];
  let error: string | undefined;
  let ended = false;
  for (const line of stdout.split("\n")) {
    if (line === "") continue;
    const [kind, ...f] = line.split("\t");
    switch (kind) {
      case "owned":
        owned.set(f[2]!, { step: f[0]!, sha256: f[1]! });
        break;
      case "receipt":
        receipts.set(f[4]!, { step: f[0]!, mode: f[2]!, owner: f[3]! });
        break;
      case "file": {
        const [path, state, sha, mode, owner, mtime] = f;
        if (state !== "file" && state !== "missing" && state !== "other") return { invalid: `unknown file state in: ${line}` };
        files.set(path!, { state, ...(dash(sha) ? { sha256: sha! } : {}), ...(dash(mode) ? { mode: mode! } : {}), ...(dash(owner) ? { owner: owner! } : {}), ...(dash(mtime) ? { mtime: Number(mtime) } : {}) });
        break;
      }
      case "package":
        packages.set(f[0]!, { status: f[1]!, ...(dash(f[2]) ? { version: f[2]! } : {}) });
        break;
      case "unit": {
        const [name, active, enabled, started, version] = f;
        units.set(name!, { active: active!, enabled: enabled!, startedAt: Number(started), ...(dash(version) ? { versionLine: version! } : {}) });
        break;
      }
      case "pending":
        if (f[1] !== "restart" && f[1] !== "reload") return { invalid: `unknown pending kind in: ${line}` };
        pending.push({ unit: f[0]!, kind: f[1] });
        break;
      case "error":
        error = f.join("\t");
        break;
      case "end":
        ended = true;
        break;
      default:
        return { invalid: `unexpected line: ${line}` };
    }
  }
  if (error !== undefined) return { owned, receipts, files, packages, units, pending, error };
  if (!ended) return { invalid: "the report ends before its end line (the session was cut?)" };
  return { owned, receipts, files, packages, units, pending };
}
