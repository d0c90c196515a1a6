import { FileReview, Review, ReviewEntry, ServiceEffect } from "./model";

/** GitHub refuses a comment body of more characters than this (pulumi/actions#482, #1387). */
export const COMMENT_LIMIT = 65_536;
/** Room kept for the note that says what was left out. */
const FOOTER_ROOM = 1_000;
/** Names listed before "and N more", so a list of 10,000 nodes costs one line. */
const MAX_NAMES = 20;
const MAX_WAVES = 20;

type Block = { readonly text: string } | { readonly diff: FileReview; readonly label: string };

const MARK = { added: "+", changed: "~", removed: "-" } as const;

/**
 * The review as a PR comment: what restarts, reloads and drains first, then one entry per group of
 * nodes with the same change, with its diffs. Whatever does not fit under GitHub's limit is left out
 * and counted, with where to read it in full.
 */
export function formatMarkdown(review: Review, limit = COMMENT_LIMIT): string {
  const head = [
    `<!-- kubeplug-plan stack=${review.stack} -->`,
    `### kubeplug plan: stack \`${review.stack}\``,
    "",
    summaryLine(review),
    "",
    ...effectsSection(review),
    ...swapSection(review),
  ];
  const tail = [...clusterBlocks(review), ...warningBlocks(review)];
  const budget = limit - FOOTER_ROOM;
  const entries = review.entries.map(entryBlocks);
  const textLength = (blocks: readonly Block[]) => blocks.reduce((n, b) => n + ("text" in b ? b.text.length + 1 : 0), 0);
  let used = head.join("\n").length + 1 + textLength(tail);
  // Entries without their diffs first: every group of nodes is named before any diff is shown.
  let shownEntries = 0;
  for (const blocks of entries) {
    const cost = textLength(blocks);
    if (used + cost > budget) break;
    used += cost;
    shownEntries++;
  }
  const blocks = [...entries.slice(0, shownEntries).flat(), ...tail];
  const out: string[] = [...head];
  const left = { files: 0, lines: 0 };
  for (const block of blocks) {
    if ("text" in block) {
      out.push(block.text);
      continue;
    }
    const text = diffBlock(block.label, block.diff.diff!);
    if (used + text.length + 1 <= budget) {
      out.push(text);
      used += text.length + 1;
    } else {
      left.files++;
      left.lines += block.diff.added + block.diff.removed;
    }
  }
  for (const blocks of entries.slice(shownEntries)) for (const b of blocks) if ("diff" in b) (left.files++, (left.lines += b.diff.added + b.diff.removed));
  const leftEntries = review.entries.slice(shownEntries);
  if (left.files > 0 || leftEntries.length > 0) out.push("", "---", leftOutNote(review, left, leftEntries, limit));
  return `${out.join("\n")}\n`;
}

function summaryLine(review: Review): string {
  const base = review.hadBase ? `Compared with ${review.base}` : `No base render to compare with (${review.base}): every file is new`;
  if (review.hadBase && review.entries.length === 0 && review.cluster.length === 0 && review.removedNodes.length === 0) {
    return `${base}: **no changes** (${review.steps} step(s) on ${review.nodes} node(s) unchanged).`;
  }
  const removed = review.removedNodes.length > 0 ? `; ${review.removedNodes.length} node(s) left the stack: ${names(review.removedNodes)}` : "";
  return `${base}: **${review.changedSteps} of ${review.steps} step(s)** new or changed, **${review.changedNodes} of ${review.nodes} node(s)** change, ${review.entries.length} distinct change(s)${review.cluster.length > 0 ? `, ${review.cluster.length} cluster file(s)` : ""}${removed}.`;
}

/** Restarts, reloads and drains across all nodes, by service and action. */
function effectsSection(review: Review): string[] {
  const byEffect = new Map<string, { effect: ServiceEffect; nodes: string[] }>();
  const drained: string[] = [];
  for (const entry of review.entries) {
    if (entry.change.drained) drained.push(...entry.nodes);
    for (const effect of entry.change.services) {
      const key = `${effect.unit} ${effect.action}`;
      const seen = byEffect.get(key) ?? { effect, nodes: [] };
      seen.nodes.push(...entry.nodes);
      byEffect.set(key, seen);
    }
  }
  if (byEffect.size === 0 && drained.length === 0) return review.changedNodes > 0 ? ["No service restarts or reloads; no node is drained.", ""] : [];
  const lines = ["#### Restarts, reloads, drains", "", "| service | action | nodes | because (first node) |", "|---|---|---|---|"];
  for (const { effect, nodes } of byEffect.values()) lines.push(`| ${effect.unit} | **${effect.action}** | ${nodes.length}: ${names(nodes)} | ${cell(effect.because.join("; "))} |`);
  if (drained.length > 0) lines.push(`| — | **drain** (cordon, evict, uncordon after the swap) | ${drained.length}: ${names(drained)} | runtime swap |`);
  return [...lines, ""];
}

function swapSection(review: Review): string[] {
  return review.swaps.flatMap((swap) => [
    `#### Runtime swap of pool \`${swap.pool}\`: ${swap.from} → ${swap.to}`,
    "",
    `${swap.waves.length} wave(s) of at most ${swap.waveSize} worker(s)${swap.pauseSeconds > 0 ? `, ${swap.pauseSeconds}s between waves` : ""}; control-plane nodes last, one at a time. A failing node rolls back and no later wave starts.`,
    "",
    ...swap.waves.slice(0, MAX_WAVES).map((w) => `${w.number}. ${w.controlPlane ? "(control plane) " : ""}${names(w.nodes)}`),
    ...(swap.waves.length > MAX_WAVES ? [`   … and ${swap.waves.length - MAX_WAVES} more wave(s)`] : []),
    "",
  ]);
}

function entryBlocks(entry: ReviewEntry): Block[] {
  const { change } = entry;
  const title = entry.nodes.length > 1 ? `${entry.nodes.length} nodes: same change: ${names(entry.nodes)}` : `node ${entry.nodes[0]}`;
  const blocks: Block[] = [{ text: `#### ${title}` }, { text: "" }];
  if (entry.nodes.length > 1) blocks.push({ text: `Pool(s) ${entry.pools.map((p) => `\`${p}\``).join(", ")}; diffs shown for \`${entry.shownFor}\` (the others differ only in their name, address and script hashes).`, }, { text: "" });
  for (const step of change.steps) blocks.push({ text: `- step \`${step.step}\`${step.phase ? ` (${step.phase})` : ""} **${step.change}**: ${cell(step.summary)}` });
  for (const effect of change.services) blocks.push({ text: `- ${effect.unit}: **${effect.action}** (${cell(effect.because.join("; "))})` });
  if (change.drained) blocks.push({ text: "- node is **drained** before its runtime is swapped" });
  blocks.push({ text: "" });
  for (const file of change.files) {
    if (file.credentials) blocks.push({ text: `- \`${MARK[file.change]} ${file.path}\`: **credentials changed** (${cell(file.credentials)}; values are never shown)` });
    else blocks.push({ text: `- \`${MARK[file.change]} ${file.path}\` (+${file.added} −${file.removed})` });
  }
  blocks.push({ text: "" });
  for (const file of change.files) if (!file.credentials) blocks.push({ diff: file, label: `${MARK[file.change]} ${file.path} (+${file.added} −${file.removed})` });
  return blocks;
}

function clusterBlocks(review: Review): Block[] {
  if (review.cluster.length === 0) return [];
  return [
    { text: "#### Cluster objects and the step library" },
    { text: "" },
    ...review.cluster.map((f): Block => ({ text: `- \`${MARK[f.change]} ${f.path}\` (+${f.added} −${f.removed})` })),
    { text: "" },
    ...review.cluster.map((f): Block => ({ diff: f, label: `${MARK[f.change]} ${f.path} (+${f.added} −${f.removed})` })),
  ];
}

function warningBlocks(review: Review): Block[] {
  if (review.warnings.length === 0) return [];
  return [{ text: "" }, { text: "<details><summary>Warnings</summary>" }, { text: "" }, ...review.warnings.map((w): Block => ({ text: `- ${cell(w)}` })), { text: "" }, { text: "</details>" }];
}

function leftOutNote(review: Review, left: { files: number; lines: number }, entries: readonly ReviewEntry[], limit: number): string {
  const parts: string[] = [];
  if (entries.length > 0) parts.push(`${entries.length} more change(s) on ${entries.reduce((n, e) => n + e.nodes.length, 0)} node(s)`);
  if (left.files > 0) parts.push(`the diffs of ${left.files} file(s) (${left.lines} changed line(s))`);
  return `_Left out to stay under GitHub's ${limit.toLocaleString("en-US")}-character comment limit: ${parts.join(" and ")}. Read them in full in the same render's \`--format json\` output, or in the render directory \`${review.renderDir}\` (each node's files under \`nodes/<node>/files\`)._`;
}

/** A collapsed diff in a fence longer than any run of backticks inside it. */
function diffBlock(label: string, diff: string): string {
  const longest = Math.max(0, ...(diff.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `<details><summary>${escapeHtml(label)}</summary>\n\n${fence}diff\n${diff}${fence}\n</details>\n`;
}

function names(list: readonly string[]): string {
  const shown = list.slice(0, MAX_NAMES).join(", ");
  return list.length > MAX_NAMES ? `${shown}, … and ${list.length - MAX_NAMES} more` : shown;
}

/** Text inside a table cell or list item: no line breaks, no column separators. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
