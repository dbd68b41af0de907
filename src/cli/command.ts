// A CLI command: one file in commands/, registered in main.ts.
export interface Command {
  name: string;
  summary: string;
  /** Full --help text (usage line and flags). */
  help: string;
  /** Returns the exit code: 0 ok, 2 bad input, 3 no usable GPU, 1 anything else. */
  run(argv: string[]): Promise<number>;
}
