/** Holds what a node has (ProbeReport) against what the plan says it should have (ExpectedNode). Pure. */
import { modeString } from "../components/node/files";
import { ExpectedNode } from "./expected";
import { ProbeReport } from "./probe";

export type Finding =
  | { readonly kind: "file-missing"; readonly path: string }
  | { readonly kind: "file-changed"; readonly path: string; readonly expected: string; readonly actual: string }
  | { readonly kind: "file-not-regular"; readonly path: string }
  | { readonly kind: "file-mode"; readonly path: string; readonly expected: string; readonly actual: string }
  | { readonly kind: "file-owner"; readonly path: string; readonly expected: string; readonly actual: string }
  | { readonly kind: "package-version"; readonly name: string; readonly expected: string; readonly actual?: string }
  | { readonly kind: "daemon-version"; readonly unit: string; readonly expected: string; readonly actual?: string }
  | { readonly kind: "unit-inactive"; readonly unit: string; readonly actual: string }
  | { readonly kind: "unit-disabled"; readonly unit: string; readonly actual: string }
  | { readonly kind: "restart-pending"; readonly unit: string; readonly cause: string };

export type NodeStatus = "clean" | "drift" | "unreachable" | "failed";

export interface NodeDrift {
  readonly node: string;
  readonly status: NodeStatus;
  readonly findings: readonly Finding[];
  /** Why an unreachable or failed node could not be checked. */
  readonly reason?: string;
  /** Wall time of the node's one SSH session. */
  readonly ms: number;
}

/** What came back from one node's session. */
export type ProbeOutcome =
  | { readonly kind: "report"; readonly report: ProbeReport }
  | { readonly kind: "unreachable"; readonly reason: string }
  | { readonly kind: "failed"; readonly reason: string };

export function nodeDrift(expected: ExpectedNode, outcome: ProbeOutcome, ms: number): NodeDrift {
  const node = expected.node;
  switch (outcome.kind) {
    case "unreachable":
    case "failed":
      return { node, status: outcome.kind, findings: [], reason: outcome.reason, ms };
    case "report": {
      if (outcome.report.error !== undefined) return { node, status: "failed", findings: [], reason: outcome.report.error, ms };
      const findings = compareNode(expected, outcome.report);
      return { node, status: findings.length > 0 ? "drift" : "clean", findings, ms };
    }
    default: {
      const never: never = outcome;
      throw new Error(`unhandled outcome ${JSON.stringify(never)}`);
    }
  }
}

export function compareNode(expected: ExpectedNode, probed: ProbeReport): Finding[] {
  return [...fileFindings(expected, probed), ...packageFindings(expected, probed), ...unitFindings(expected, probed)];
}

function fileFindings(expected: ExpectedNode, probed: ProbeReport): Finding[] {
  const findings: Finding[] = [];
  const planned = new Set(expected.files.map((f) => f.path));
  // Files only an ownership list names (binaries a step unpacked): their recorded bytes, and the mode
  // and owner their install receipt recorded, when the step keeps one.
  const recordedOnly = [...probed.owned.keys()]
    .filter((path) => !planned.has(path))
    .map((path) => {
      const receipt = probed.receipts.get(path);
      return { path, content: { kind: "recorded" as const }, mode: receipt ? parseInt(receipt.mode, 8) : undefined, owner: receipt?.owner };
    });
  for (const file of [...expected.files, ...recordedOnly]) {
    const { path } = file;
    const have = probed.files.get(path);
    if (!have || have.state === "missing") {
      findings.push({ kind: "file-missing", path });
      continue;
    }
    if (have.state === "other") {
      findings.push({ kind: "file-not-regular", path });
      continue;
    }
    const want = file.content.kind === "exact" ? file.content.sha256 : probed.owned.get(path)?.sha256;
    // A recorded file the step has not recorded yet (never applied) has no reference for its bytes.
    if (want !== undefined && have.sha256 !== want) findings.push({ kind: "file-changed", path, expected: want, actual: have.sha256 ?? "none" });
    if (file.mode !== undefined && have.mode !== undefined) {
      const wantMode = modeString(file.mode);
      if (have.mode.padStart(4, "0") !== wantMode) findings.push({ kind: "file-mode", path, expected: wantMode, actual: have.mode.padStart(4, "0") });
    }
    if (file.owner !== undefined && have.owner !== undefined && have.owner !== file.owner) findings.push({ kind: "file-owner", path, expected: file.owner, actual: have.owner });
  }
  return findings;
}

function packageFindings(expected: ExpectedNode, probed: ProbeReport): Finding[] {
  return expected.packages.flatMap((pkg): Finding[] => {
    const have = probed.packages.get(pkg.name);
    const installed = have?.status === "installed" ? have.version : undefined;
    if (installed !== undefined && aptGlob(pkg.version).test(installed)) return [];
    return [{ kind: "package-version", name: pkg.name, expected: pkg.version, ...(installed !== undefined ? { actual: installed } : {}) }];
  });
}

function unitFindings(expected: ExpectedNode, probed: ProbeReport): Finding[] {
  return expected.units.flatMap((unit): Finding[] => {
    const have = probed.units.get(unit.name);
    const findings: Finding[] = [];
    const version = have?.versionLine ? releaseOf(have.versionLine) : undefined;
    if (version !== unit.version) findings.push({ kind: "daemon-version", unit: unit.name, expected: unit.version, ...(version !== undefined ? { actual: version } : {}) });
    if (have?.active !== "active") findings.push({ kind: "unit-inactive", unit: unit.name, actual: have?.active ?? "unknown" });
    if (have?.enabled !== "enabled") findings.push({ kind: "unit-disabled", unit: unit.name, actual: have?.enabled ?? "unknown" });
    for (const marker of probed.pending.filter((p) => p.unit === unit.name)) {
      findings.push({ kind: "restart-pending", unit: unit.name, cause: `an apply recorded a ${marker.kind} that has not happened yet` });
    }
    if (have?.active === "active" && have.startedAt > 0) {
      for (const path of unit.restartFiles) {
        const mtime = probed.files.get(path)?.mtime;
        if (mtime !== undefined && mtime > have.startedAt) findings.push({ kind: "restart-pending", unit: unit.name, cause: `${path} changed after ${unit.name} started` });
      }
    }
    return findings;
  });
}

/** An apt version glob (`2.1.9*`: any Debian revision of upstream 2.1.9) as a regular expression. */
function aptGlob(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
}

/** X.Y.Z from a `--version` line: "containerd github.com/containerd/containerd 1.6.20~ds1 ..." gives 1.6.20. */
function releaseOf(versionLine: string): string | undefined {
  return /(?:^|[\s/])v?(\d+\.\d+\.\d+)/.exec(versionLine)?.[1];
}

/** One line per finding, for every format. */
export function describeFinding(finding: Finding): string {
  switch (finding.kind) {
    case "file-missing":
      return `${finding.path}: missing`;
    case "file-changed":
      return `${finding.path}: changed outside kubeplug (sha256 ${finding.actual.slice(0, 12)}, kubeplug's is ${finding.expected.slice(0, 12)})`;
    case "file-not-regular":
      return `${finding.path}: not a regular file`;
    case "file-mode":
      return `${finding.path}: mode ${finding.actual}, should be ${finding.expected}`;
    case "file-owner":
      return `${finding.path}: owner ${finding.actual}, should be ${finding.expected}`;
    case "package-version":
      return `package ${finding.name}: ${finding.actual ?? "not installed"}, the stack pins ${finding.expected}`;
    case "daemon-version":
      return `${finding.unit}: version ${finding.actual ?? "unknown (binary not found)"}, the config is rendered for ${finding.expected}`;
    case "unit-inactive":
      return `unit ${finding.unit}: ${finding.actual}, should be active`;
    case "unit-disabled":
      return `unit ${finding.unit}: ${finding.actual}, should be enabled`;
    case "restart-pending":
      return `unit ${finding.unit}: restart pending: ${finding.cause}`;
    default: {
      const never: never = finding;
      throw new Error(`unhandled finding ${JSON.stringify(never)}`);
    }
  }
}
