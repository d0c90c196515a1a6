/** A file a node step puts on a host, with the exact bytes and permissions it must have. */
export interface RenderedFile {
  /** Absolute path on the node. */
  readonly path: string;
  /** The file's exact bytes, as text. */
  readonly content: string;
  /** Octal permission bits, e.g. 0o644. */
  readonly mode: number;
}

export function modeString(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
