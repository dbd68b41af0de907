// `info`: the GPU adapter, features, limits and precision path, as JSON.
import { Flags, parseArgs } from '../args';
import type { Command } from '../command';
import { createNodeEngine } from '../../engine/node';

const info: Command = {
  name: 'info',
  summary: 'print the GPU adapter, features, limits and precision path as JSON',
  help: `usage: npm run stencil -- info [--precision auto|f16|f32]

Prints the WebGPU adapter the engine uses (Dawn in Node), its features, the limits the engine
requested, and the precision path (f16 weights where the device has shader-f16).`,
  async run(argv) {
    const flags = new Flags(parseArgs(argv), ['precision']);
    const precision = flags.choice('precision', ['auto', 'f16', 'f32'] as const, 'auto');
    const engine = await createNodeEngine({ precision });
    try {
      console.log(JSON.stringify(engine.info(), null, 2));
    } finally {
      engine.dispose();
    }
    return 0;
  },
};

export default info;
