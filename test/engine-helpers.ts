// Shared setup for GPU tests: one engine per test file (Node + Dawn), test kernels from fixtures.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine, EngineOptions } from '../src/engine/engine';
import type { KernelCall, KernelVariant } from '../src/engine/kernel-runtime';
import { createNodeEngine, nodeShaderSource } from '../src/engine/node';

const FIXTURE_SHADERS = join(__dirname, 'fixtures', 'shaders');

export function testShaderSource(name: string): string {
  const fixture = join(FIXTURE_SHADERS, `${name}.wgsl`);
  return existsSync(fixture) ? readFileSync(fixture, 'utf8') : nodeShaderSource(name);
}

export function startEngine(options: Omit<EngineOptions, 'gpu' | 'shaders'> = {}): Promise<Engine> {
  return createNodeEngine({ ...options, shaders: testShaderSource });
}

/** Runs `fn` and lists the kernels (name:entry) it dispatched through the engine's runtime. */
export function recordKernels<T>(engine: Engine, fn: () => T): { value: T; kernels: string[] } {
  const kernels: string[] = [];
  const run = engine.kernels.run.bind(engine.kernels);
  engine.kernels.run = (name: string, variant: KernelVariant, call: KernelCall) => {
    kernels.push(`${name}:${variant.entryPoint ?? 'main'}`);
    return run(name, variant, call);
  };
  try {
    return { value: fn(), kernels };
  } finally {
    engine.kernels.run = run;
  }
}
