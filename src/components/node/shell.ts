import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Single-quotes a value for bash; the only character that needs care inside '' is ' itself. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export type ScriptVar = string | number | readonly string[];

export function bashAssignment(name: string, value: ScriptVar): string {
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`invalid script variable name ${name}`);
  if (Array.isArray(value)) return `${name}=(${value.map(shellQuote).join(" ")})`;
  return `${name}=${shellQuote(String(value))}`;
}

/** A quoted heredoc feeding `command`; the delimiter is chosen so the content cannot end it early. */
export function heredoc(command: string, content: string, delimiterBase: string): string {
  if (!content.endsWith("\n")) throw new Error(`heredoc content for "${command}" must end with a newline`);
  // A line of its own: at the start or after a newline, and (the content ends with one) before a newline.
  const isLine = (text: string) => content.startsWith(`${text}\n`) || content.includes(`\n${text}\n`);
  let delimiter = delimiterBase;
  for (let i = 1; isLine(delimiter); i++) delimiter = `${delimiterBase}_${i}`;
  return `${command} <<'${delimiter}'\n${content}${delimiter}\n`;
}

const cache = new Map<string, string>();

/** Reads a bash fragment shipped next to the code (src/components/<domain>/scripts/*.sh). */
export function scriptAsset(domainDir: string, name: string): string {
  const path = join(domainDir, "scripts", name);
  let text = cache.get(path);
  if (text === undefined) {
    text = readFileSync(path, "utf8");
    cache.set(path, text);
  }
  return text;
}
