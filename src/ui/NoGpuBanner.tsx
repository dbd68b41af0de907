// The one alert of a page without WebGPU: what is missing and how to get it.
import type { GpuState } from './use-engine';

export function NoGpuBanner({ gpu }: { gpu: Extract<GpuState, { status: 'unavailable' }> }) {
  return (
    <section className="banner error" role="alert">
      <h2>WebGPU unavailable: {gpu.message}</h2>
      <p>{gpu.advice}</p>
      <p>The Stencil tab works without a GPU; models, generation and training need WebGPU.</p>
    </section>
  );
}

/** In a view that needs the GPU: says so, or waits for the engine; renders the view once it is ready. */
export function NeedsGpu({ gpu, what, children }: { gpu: GpuState; what: string; children: React.ReactNode }) {
  if (gpu.status === 'ready') return children;
  if (gpu.status === 'starting') return <p className="notice" aria-busy="true">Waiting for the GPU engine…</p>;
  return (
    <p className="notice error" data-testid="needs-gpu">
      <strong>{what} needs WebGPU</strong>, which this browser does not offer ({gpu.message.replace(/\.$/, '')}). The message at the top says how
      to get it.
    </p>
  );
}
