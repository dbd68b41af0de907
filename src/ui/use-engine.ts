// The engine worker's lifecycle as React state: starting, ready (with the GPU's facts) or unavailable.
import { useEffect, useState } from 'react';
import type { EngineInfo } from '../engine/engine';
import { NoGpuError, noGpuAdvice } from '../engine/errors';
import { EngineClient } from '../worker/engine-client';

export type EngineState =
  | { status: 'starting' }
  | { status: 'ready'; client: EngineClient; info: EngineInfo }
  | { status: 'unavailable'; message: string; advice: string };

function precisionSetting(): 'auto' | 'f16' | 'f32' {
  const p = new URLSearchParams(location.search).get('precision');
  return p === 'f16' || p === 'f32' ? p : 'auto';
}

export function useEngine(): EngineState {
  const [state, setState] = useState<EngineState>({ status: 'starting' });
  useEffect(() => {
    if (!('gpu' in navigator)) {
      setState({ status: 'unavailable', message: 'This browser has no WebGPU.', advice: noGpuAdvice('no-webgpu') });
      return;
    }
    const client = EngineClient.spawn();
    let live = true;
    client.call('start', { precision: precisionSetting() }).then(
      (info) => {
        if (!live) return;
        // Browser tests drive the worker directly through this handle.
        if (new URLSearchParams(location.search).has('e2e')) Object.assign(window, { stencilEngine: client });
        setState({ status: 'ready', client, info });
      },
      (e: Error) => {
        if (!live) return;
        const advice = e instanceof NoGpuError ? noGpuAdvice(e.reason) : 'Reload the page; if it persists, check chrome://gpu.';
        setState({ status: 'unavailable', message: e.message.split('. ')[0] + '.', advice });
      },
    );
    return () => {
      live = false;
      client.terminate();
    };
  }, []);
  return state;
}
