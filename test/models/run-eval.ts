// Runs `eval` in a process of its own (a process holds one Dawn device), exiting with its code.
import evalCommand from '../../src/cli/commands/eval';
import { UsageError } from '../../src/cli/args';

evalCommand.run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
