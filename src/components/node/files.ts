/** A file a node step puts on a host, with the exact bytes and permissions it must have. */
export interface RenderedFile {
  readonly path: string;
  readonly content: string;
  /** Octal permission bits, e.g. 0o644. */
  readonly mode: number;
}

export function modeString(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
