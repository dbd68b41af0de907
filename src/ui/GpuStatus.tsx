// The header's compact GPU badge: state, precision path and adapter at a glance.
import type { GpuState } from './use-engine';

export function adapterName(info: Extract<GpuState, { status: 'ready' }>['info']): string {
  const a = info.adapter;
  return [a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || 'unnamed adapter';
}

export function GpuStatus({ gpu }: { gpu: GpuState }) {
  if (gpu.status === 'starting') {
    return (
      <div className="gpu-badge" aria-busy="true" aria-live="polite">
        <span data-testid="gpu-status">Starting the GPU engine…</span>
      </div>
    );
  }
  if (gpu.status === 'unavailable') {
    return (
      <div className="gpu-badge bad" aria-live="polite">
        <span data-testid="gpu-status">WebGPU unavailable</span>
      </div>
    );
  }
  const { info } = gpu;
  return (
    <div className="gpu-badge good" aria-live="polite" title={adapterName(info)}>
      <span data-testid="gpu-status">GPU ready</span>
      <span className="sep">{info.precision === 'f16' ? 'f16' : 'f32'}</span>
      <span className="sep adapter">{info.adapter.isFallbackAdapter ? 'software adapter' : info.adapter.vendor || 'GPU'}</span>
    </div>
  );
}
