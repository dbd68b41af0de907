// Shared setup for GPU tests: one engine per test file (Node + Dawn), test kernels from fixtures.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine, EngineOptions } from '../src/engine/engine';
import { createNodeEngine, nodeShaderSource } from '../src/engine/node';

const FIXTURE_SHADERS = join(__dirname, 'fixtures', 'shaders');

export function testShaderSource(name: string): string {
  const fixture = join(FIXTURE_SHADERS, `${name}.wgsl`);
  return existsSync(fixture) ? readFileSync(fixture, 'utf8') : nodeShaderSource(name);
}

export function startEngine(options: Omit<EngineOptions, 'gpu' | 'shaders'> = {}): Promise<Engine> {
  return createNodeEngine({ ...options, shaders: testShaderSource });
}
