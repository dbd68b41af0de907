// The GPU memory budget: WebGPU does not report the GPU's size, so the user says how much to use.
import { useId } from 'react';

export function MemoryBudget({ gigabytes, onChange }: { gigabytes: number; onChange: (gb: number) => void }) {
  const id = useId();
  return (
    <section className="panel" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>GPU memory budget</h2>
      <div className="field inline">
        <label htmlFor={id}>Use at most (GB)</label>
        <input
          id={id}
          type="number"
          min={1}
          max={192}
          step={1}
          value={gigabytes}
          onChange={(e) => {
            const v = Number(e.target.value);
            if (v >= 1) onChange(v);
          }}
        />
      </div>
      <p className="hint">
        Set it to your GPU's memory minus what other apps use. Loading and training plan against it; past it the engine frees its pool, then
        stops with an out-of-memory error instead of crashing the tab.
      </p>
    </section>
  );
}
