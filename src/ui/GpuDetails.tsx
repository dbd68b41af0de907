// What the engine found: adapter, precision path, key limits, and a self-test of a kernel in the worker.
import { useState } from 'react';
import type { EngineInfo } from '../engine/engine';
import type { EngineClient } from '../worker/engine-client';
import type { SelfTestResult } from '../worker/messages';
import { formatBytes } from './format';
import { adapterName } from './GpuStatus';

export function GpuDetails({ info, client }: { info: EngineInfo; client: EngineClient }) {
  const [test, setTest] = useState<SelfTestResult | string>();
  const runSelfTest = () => {
    setTest('running…');
    client.call('selfTest', {}).then(setTest, (e: Error) => setTest(`failed: ${e.message}`));
  };
  return (
    <section className="panel" aria-labelledby="gpu-heading">
      <h2 id="gpu-heading">GPU</h2>
      <dl className="facts">
        <dt>Adapter</dt>
        <dd data-testid="gpu-adapter">{adapterName(info)}</dd>
        <dt>Precision</dt>
        <dd data-testid="gpu-precision">
          {info.precision === 'f16' ? 'f16 weights, f32 accumulation' : 'f32'}
          {!info.f16Available && ' (this GPU has no shader-f16: the f32 path uses twice the memory)'}
        </dd>
        <dt>Features</dt>
        <dd>{info.features.join(', ') || 'none'}</dd>
        <dt>Largest buffer</dt>
        <dd>
          {formatBytes(info.limits.maxBufferSize)} (binding {formatBytes(info.limits.maxStorageBufferBindingSize)})
        </dd>
      </dl>
      <button type="button" onClick={runSelfTest} disabled={test === 'running…'}>
        Run GPU self-test
      </button>
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
