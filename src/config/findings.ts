import { ConfigProblem, ConfigWarning } from "../errors";
import { formatPath } from "./path";

/** Collects problems and warnings under a config root while checks walk a parsed stack. */
export class Findings {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigWarning[] = [];

  at(root: string, ...segments: PropertyKey[]): Locator {
    return new Locator(this, root, segments);
  }
}

/** A position in the config; `.problem()` and `.warn()` record findings there, `.child()` descends. */
export class Locator {
  constructor(
    private readonly findings: Findings,
    private readonly root: string,
    private readonly segments: readonly PropertyKey[],
  ) {}

  child(...segments: PropertyKey[]): Locator {
    return new Locator(this.findings, this.root, [...this.segments, ...segments]);
  }

  get path(): string {
    return formatPath(this.root, this.segments);
  }

  problem(message: string): void {
    this.findings.problems.push({ path: this.path, message });
  }

  warn(message: string): void {
    this.findings.warnings.push({ path: this.path, message });
  }
}
