// What the engine found: adapter, precision path, key limits, and a self-test of a kernel in the worker.
import { useState } from 'react';
import type { SelfTestResult } from '../worker/messages';
import type { EngineState } from './use-engine';

const MiB = 2 ** 20;

export function GpuStatus({ engine }: { engine: EngineState }) {
  const [test, setTest] = useState<SelfTestResult | string>();
  if (engine.status === 'starting') {
    return (
      <section className="panel" aria-busy="true" aria-live="polite">
        <h2>GPU</h2>
        <p data-testid="gpu-status">Starting the GPU engine…</p>
      </section>
    );
  }
  if (engine.status === 'unavailable') {
    return (
      <section className="panel error" role="alert">
        <h2>GPU</h2>
        <p data-testid="gpu-status">WebGPU unavailable: {engine.message}</p>
        <p>{engine.advice}</p>
      </section>
    );
  }
  const { info, client } = engine;
  const runSelfTest = () => {
    setTest('running…');
    client.call('selfTest', {}).then(setTest, (e: Error) => setTest(`failed: ${e.message}`));
  };
  return (
    <section className="panel" aria-live="polite">
      <h2>GPU</h2>
      <p data-testid="gpu-status" className="ok">GPU ready</p>
      <dl className="facts">
        <dt>Adapter</dt>
        <dd data-testid="gpu-adapter">{[info.adapter.vendor, info.adapter.architecture, info.adapter.description].filter(Boolean).join(' · ') || 'unnamed adapter'}</dd>
        <dt>Precision</dt>
        <dd data-testid="gpu-precision">
          {info.precision === 'f16' ? 'f16 weights, f32 accumulation' : 'f32'}
          {!info.f16Available && ' (this GPU has no shader-f16: the f32 path uses twice the memory)'}
        </dd>
        <dt>Features</dt>
        <dd>{info.features.join(', ') || 'none'}</dd>
        <dt>Largest buffer</dt>
        <dd>{Math.round(info.limits.maxBufferSize / MiB)} MiB (binding {Math.round(info.limits.maxStorageBufferBindingSize / MiB)} MiB)</dd>
      </dl>
      <button type="button" onClick={runSelfTest} disabled={test === 'running…'}>Run GPU self-test</button>
      {test !== undefined && (
        <p data-testid="self-test">
          {typeof test === 'string'
            ? `Self-test ${test}`
            : `Self-test passed in ${test.ms.toFixed(0)} ms: kernel error ${test.kernelMaxError}, matmul error ${test.matmulRelError.toExponential(1)}`}
        </p>
      )}
    </section>
  );
}
