// Loads esm-potrace-wasm (potrace compiled to WebAssembly, wasm inlined) in the browser and in Node.
import type { potrace as PotraceFn } from 'esm-potrace-wasm';

export type Potrace = typeof PotraceFn;

let loading: Promise<Potrace> | undefined;

/**
 * The package's Emscripten glue detects Node and then calls CommonJS `require('node:fs')` and reads
 * `__dirname` at module evaluation, which an ES module does not have. It never uses them (the wasm is
 * inlined), so in Node both are provided for the duration of the import and removed again.
 */
export function loadPotrace(): Promise<Potrace> {
  loading ??= (async () => {
    const g = globalThis as { require?: unknown; __dirname?: unknown };
    const nodeProcess = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const shim = typeof nodeProcess?.getBuiltinModule === 'function' && g.require === undefined;
    if (shim) {
      const { createRequire } = nodeProcess!.getBuiltinModule!('node:module') as typeof import('node:module');
      g.require = createRequire(import.meta.url);
      g.__dirname = '/';
    }
    try {
      const module = await import('esm-potrace-wasm');
      await module.init();
      return module.potrace;
    } finally {
      if (shim) {
        delete g.require;
        delete g.__dirname;
      }
    }
  })();
  return loading;
}
