// The engine in a page or worker: kernels bundled by Vite as text.
import { Engine, type EngineOptions } from './engine';

const sources = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

export function browserShaderSource(name: string): string {
  const code = sources[`../../shaders/${name}.wgsl`];
  if (code === undefined) throw new Error(`no kernel named '${name}' in shaders/`);
  return code;
}

export function createBrowserEngine(options: Omit<EngineOptions, 'gpu' | 'shaders'> = {}): Promise<Engine> {
  return Engine.create({ ...options, gpu: navigator.gpu, shaders: browserShaderSource });
}
