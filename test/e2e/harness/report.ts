import { StepResult } from "../../../src/components/node/node-step";

export interface ApplyInput {
  /** A stack file (Pulumi.<stack>.yaml layout); its SSH key path must be absolute or relative to the repo. */
  readonly stackFile: string;
  readonly stack: string;
  /** Values of the stack's secret config keys, by key name without the `kubeplug:` prefix. */
  readonly secrets?: Readonly<Record<string, string>>;
  /**
   * Like a Pulumi state file: a Command whose inputs equal those of its last successful run is not run
   * again, as the engine would find no diff. Without it every command runs (the idempotence check).
   */
  readonly stateFile?: string;
  /** Fault injection: cut this command's connection once its stdout matches the pattern. */
  readonly dropConnection?: { readonly command: string; readonly whenStdout: string };
}

export interface CommandRun {
  /** `<node>-<step>`, the Command's name. */
  name: string;
  node: string;
  step: string;
  /** skipped: a dependency failed; unchanged: same inputs as the last successful run, not run. */
  status: "running" | "ok" | "failed" | "skipped" | "unchanged";
  exitCode?: number | null;
  ms: number;
  stdout: string;
  stderr: string;
  error?: string;
  result?: StepResult;
}

export interface ApplyReport {
  ok: boolean;
  errors: string[];
  commands: CommandRun[];
  /** Each node's step-library upload (`<node>-node-library-upload`) and install (`<node>-node-library`), which every step depends on. */
  libraries: CommandRun[];
}

/** One row of the e2e figures table (bench/e2e.ts prints them). */
export interface E2eFigure {
  scenario: string;
  nodes: number;
  stepsRun: number;
  wallMs: number;
  lost: string;
}
