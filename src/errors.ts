/** One problem in user input, located by its full config path (`kubeplug:cluster.nodes[2].address`). */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/** A finding that does not stop rendering but that a reviewer should read (deprecations, risky combinations). */
export type ConfigWarning = ConfigProblem;

export function formatProblem(problem: ConfigProblem): string {
  return `${problem.path}: ${problem.message}`;
}

/**
 * The one error type for invalid input. It carries every problem found, so a user fixes a stack
 * in one pass instead of one error per `pulumi up`.
 */
export class KubeplugConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`invalid kubeplug configuration (${count}):\n${problems.map((p) => `  ${formatProblem(p)}`).join("\n")}`);
    this.name = "KubeplugConfigError";
    this.problems = problems;
  }
}
