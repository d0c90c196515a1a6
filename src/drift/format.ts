/** The drift check's report as text (terminals), JSON (machines) or Markdown (PR comments, tickets). Pure. */
import { describeFinding, NodeDrift, NodeStatus } from "./compare";

export const FORMATS = ["text", "json", "markdown"] as const;
export type Format = (typeof FORMATS)[number];

export interface DriftReport {
  readonly stack: string;
  readonly nodes: readonly NodeDrift[];
}

/** 2 when any node drifted, 3 when none did but some could not be checked, 0 when every node is clean. */
export function exitCode(report: DriftReport): 0 | 2 | 3 {
  if (report.nodes.some((n) => n.status === "drift")) return 2;
  if (report.nodes.some((n) => n.status === "unreachable" || n.status === "failed")) return 3;
  return 0;
}

export function formatReport(report: DriftReport, format: Format): string {
  switch (format) {
    case "text":
      return text(report);
    case "json":
      return `${JSON.stringify(json(report), null, 2)}\n`;
    case "markdown":
      return markdown(report);
    default: {
      const never: never = format;
      throw new Error(`unhandled format ${JSON.stringify(never)}`);
    }
  }
}

function count(report: DriftReport, status: NodeStatus): number {
  return report.nodes.filter((n) => n.status === status).length;
}

function summary(report: DriftReport): string {
  const parts = (["drift", "unreachable", "failed", "clean"] as const).filter((s) => count(report, s) > 0).map((s) => `${count(report, s)} ${s === "drift" ? "drifted" : s}`);
  return `drift check of stack ${report.stack}: ${report.nodes.length} node(s), ${parts.join(", ") || "none checked"}`;
}

function statusLine(node: NodeDrift): string {
  switch (node.status) {
    case "clean":
      return "clean";
    case "drift":
      return `drift (${node.findings.length})`;
    case "unreachable":
    case "failed":
      return `${node.status}: ${node.reason}`;
    default: {
      const never: never = node.status;
      throw new Error(`unhandled status ${JSON.stringify(never)}`);
    }
  }
}

function text(report: DriftReport): string {
  const lines = [summary(report)];
  for (const node of report.nodes) {
    lines.push(`${node.node}: ${statusLine(node)}`);
    for (const finding of node.findings) lines.push(`  ${describeFinding(finding)}`);
  }
  return `${lines.join("\n")}\n`;
}

function json(report: DriftReport) {
  return {
    stack: report.stack,
    exitCode: exitCode(report),
    nodes: report.nodes.map((n) => ({ ...n, findings: n.findings.map((f) => ({ ...f, message: describeFinding(f) })) })),
  };
}

/** Table cells cannot hold a bare `|` or a newline. */
const cell = (value: string) => value.replace(/\|/g, "\\|").replace(/\n/g, " ");

function markdown(report: DriftReport): string {
  const rows = report.nodes.flatMap((node) =>
    node.findings.length === 0 ? [`| ${cell(node.node)} | ${cell(statusLine(node))} | |`] : node.findings.map((f) => `| ${cell(node.node)} | drift | ${cell(describeFinding(f))} |`),
  );
  return [`**${cell(summary(report))}**`, "", "| node | status | finding |", "|---|---|---|", ...rows, ""].join("\n");
}
