import { GpuStatus } from './GpuStatus';
import { useEngine } from './use-engine';

export function App() {
  const engine = useEngine();
  return (
    <div className="app">
      <header>
        <h1>Stencil Diffusion</h1>
        <p className="tagline">Fine-tune Stable Diffusion on your own GPU, in this tab, and cut clean stencils.</p>
      </header>
      <main>
        <GpuStatus engine={engine} />
      </main>
    </div>
  );
}
