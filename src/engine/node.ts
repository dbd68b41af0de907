// The engine in Node: Dawn from the `webgpu` package, kernels read from shaders/ on disk.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine, type EngineOptions } from './engine';

const SHADER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shaders');

const shaderCache = new Map<string, string>();

export function nodeShaderSource(name: string): string {
  let code = shaderCache.get(name);
  if (code === undefined) {
    code = readFileSync(join(SHADER_DIR, `${name}.wgsl`), 'utf8');
    shaderCache.set(name, code);
  }
  return code;
}

export async function createNodeEngine(options: Omit<EngineOptions, 'gpu' | 'shaders'> & { shaders?: EngineOptions['shaders'] } = {}): Promise<Engine> {
  process.env.VK_ICD_FILENAMES ??= '/usr/share/vulkan/icd.d/lvp_icd.json';
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  // tfjs's WebGPUBackend refuses to start unless navigator.gpu exists (Node has no navigator).
  if (!globalThis.navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  return Engine.create({ ...options, gpu, shaders: options.shaders ?? nodeShaderSource });
}
