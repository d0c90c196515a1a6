import { createHash } from "node:crypto";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A hash over several named parts; the separators keep ("ab","c") and ("a","bc") apart. */
export function hashParts(parts: readonly (readonly [string, string])[]): string {
  const hash = createHash("sha256");
  for (const [name, content] of parts) hash.update(`${name}\0${content.length}\0${content}\0`);
  return hash.digest("hex");
}
