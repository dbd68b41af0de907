// The engine worker as React state. The worker always runs (the stencil and dataset scans need no GPU);
// the GPU engine inside it is starting, ready (with the GPU's facts) or unavailable (with what to do).
import { useEffect, useState } from 'react';
import type { EngineInfo } from '../engine/engine';
import { NoGpuError, noGpuAdvice } from '../engine/errors';
import { EngineClient } from '../worker/engine-client';

export type GpuState =
  | { status: 'starting' }
  | { status: 'ready'; info: EngineInfo }
  | { status: 'unavailable'; message: string; advice: string };

export interface EngineState {
  client: EngineClient | undefined;
  gpu: GpuState;
}

function precisionSetting(): 'auto' | 'f16' | 'f32' {
  const p = new URLSearchParams(location.search).get('precision');
  return p === 'f16' || p === 'f32' ? p : 'auto';
}

export function useEngine(memoryBudgetBytes: number): EngineState {
  const [state, setState] = useState<EngineState>({ client: undefined, gpu: { status: 'starting' } });
  useEffect(() => {
    const client = EngineClient.spawn();
    // Browser tests drive the worker directly through this handle.
    if (new URLSearchParams(location.search).has('e2e')) Object.assign(window, { stencilEngine: client });
    let live = true;
    const settle = (gpu: GpuState) => live && setState({ client, gpu });
    if (!('gpu' in navigator)) {
      settle({ status: 'unavailable', message: 'This browser has no WebGPU.', advice: noGpuAdvice('no-webgpu') });
    } else {
      setState({ client, gpu: { status: 'starting' } });
      client.call('start', { precision: precisionSetting(), memoryBudgetBytes }).then(
        (info) => settle({ status: 'ready', info }),
        (e: Error) => {
          const advice = e instanceof NoGpuError ? noGpuAdvice(e.reason) : 'Reload the page; if it persists, check chrome://gpu.';
          settle({ status: 'unavailable', message: e.message.split('. ')[0] + '.', advice });
        },
      );
    }
    return () => {
      live = false;
      client.terminate();
    };
    // The budget only seeds the engine; later changes go through setMemoryBudget.
  }, []);
  return state;
}
