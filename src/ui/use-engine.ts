// The engine worker as React state. The worker always runs (the stencil and dataset scans need no GPU);
// the GPU engine inside it is starting, ready (with the GPU's facts) or unavailable (with what to do).
// When the GPU device is lost, the worker is replaced by a fresh one with a new engine: `restarts` counts
// that, so the views reload what they had (the model; a training run resumes from its checkpoint).
import { useEffect, useRef, useState } from 'react';
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
  /** How many times the engine was restarted after losing the GPU device. */
  restarts: number;
  /** What the last device loss said, for the page to show. */
  lostMessage?: string;
}

function precisionSetting(): 'auto' | 'f16' | 'f32' {
  const p = new URLSearchParams(location.search).get('precision');
  return p === 'f16' || p === 'f32' ? p : 'auto';
}

export function useEngine(memoryBudgetBytes: number): EngineState {
  const [state, setState] = useState<EngineState>({ client: undefined, gpu: { status: 'starting' }, restarts: 0 });
  // A restarted engine gets the budget set by then, not the one the page opened with.
  const budget = useRef(memoryBudgetBytes);
  budget.current = memoryBudgetBytes;
  useEffect(() => {
    let live = true;
    let client: EngineClient | undefined;
    const boot = (restarts: number, lostMessage?: string) => {
      const current = EngineClient.spawn();
      client = current;
      // Browser tests drive the worker directly through this handle.
      if (new URLSearchParams(location.search).has('e2e')) Object.assign(window, { stencilEngine: current });
      const settle = (gpu: GpuState) => live && client === current && setState({ client: current, gpu, restarts, lostMessage });
      if (!('gpu' in navigator)) {
        settle({ status: 'unavailable', message: 'This browser has no WebGPU.', advice: noGpuAdvice('no-webgpu') });
        return;
      }
      settle({ status: 'starting' });
      current.onDeviceLost = (error) => {
        current.terminate(error);
        if (live) boot(restarts + 1, error.message);
      };
      current.call('start', { precision: precisionSetting(), memoryBudgetBytes: budget.current }).then(
        (info) => settle({ status: 'ready', info }),
        (e: Error) => {
          const advice = e instanceof NoGpuError ? noGpuAdvice(e.reason) : 'Reload the page; if it persists, check chrome://gpu.';
          settle({ status: 'unavailable', message: e.message.split('. ')[0] + '.', advice });
        },
      );
    };
    boot(0);
    return () => {
      live = false;
      client?.terminate();
    };
    // The budget seeds each engine; changes in between go through setMemoryBudget.
  }, []);
  return state;
}
