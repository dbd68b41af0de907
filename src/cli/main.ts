// `npm run stencil -- <command> [flags]` (see shared CLI.md). Exit codes: 0 ok, 2 bad input,
// 3 no usable GPU, 1 anything else.
import { UsageError } from './args';
import type { Command } from './command';
import { NoGpuError } from '../engine/errors';

const commands: Record<string, () => Promise<{ default: Command }>> = {
  info: () => import('./commands/info'),
  eval: () => import('./commands/eval'),
  export: () => import('./commands/export'),
  generate: () => import('./commands/generate'),
  train: () => import('./commands/train'),
  stencil: () => import('./commands/stencil'),
};

// Errors that mean the user's input is wrong (a file, a folder, a flag): exit code 2.
const BAD_INPUT = new Set([
  'UsageError', 'RangeError', 'DatasetError', 'ModelFolderError', 'SafetensorsError', 'UnsupportedModelError', 'WeightLoadError',
  'ModelConfigError', 'ImageDecodeError', 'UnsupportedImageError', 'StencilInputError', 'LoraFileError', 'GenerationInputError',
]);

// Failures the user can act on: their message says what to do, a stack trace would only hide it.
const EXPLAINED = new Set(['GpuOutOfMemoryError', 'DeviceLostError', 'TrainingDivergedError', 'StorageQuotaError', 'HubError', 'NonFiniteError']);

function usage(): string {
  return `usage: npm run stencil -- <command> [flags]\n\ncommands: ${Object.keys(commands).join(', ')}\n` +
    `Run a command with --help for its flags.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    console.log(usage());
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const command = (await load()).default;
  if (rest.includes('--help')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && BAD_INPUT.has(e.name))) {
      console.error(`${command.name}: ${e.message}`);
      return 2;
    }
    if (e instanceof NoGpuError) {
      console.error(e.message);
      return 3;
    }
    if (e instanceof Error && (e as Error & { code?: string }).code === 'ENOENT') {
      console.error(`${command.name}: ${e.message}`);
      return 2;
    }
    if (e instanceof Error && EXPLAINED.has(e.name)) console.error(`${command.name}: ${e.message}`);
    else console.error(e instanceof Error ? e.stack ?? e.message : String(e));
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
