// One long worker call at a time, as React state: running with progress (and its rate), done, failed or
// cancelled. `run` passes the call options (progress, abort signal) to the client call it wraps.
import { useCallback, useRef, useState } from 'react';
import type { CallOptions } from '../worker/engine-client';

export interface Progress {
  done: number;
  total: number;
  label?: string;
  /** Units per second since the task started. */
  rate: number;
}

export interface TaskState<T> {
  running: boolean;
  progress?: Progress;
  result?: T;
  error?: Error;
}

export function useTask<T>() {
  const [state, setState] = useState<TaskState<T>>({ running: false });
  const controller = useRef<AbortController | undefined>(undefined);

  const run = useCallback(async (call: (options: CallOptions) => Promise<T>): Promise<T | undefined> => {
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    const started = performance.now();
    setState((s) => ({ running: true, result: s.result }));
    const onProgress = (done: number, total: number, label?: string) => {
      const seconds = (performance.now() - started) / 1000;
      if (controller.current === abort) setState((s) => ({ ...s, progress: { done, total, label, rate: seconds > 0 ? done / seconds : 0 } }));
    };
    try {
      const result = await call({ onProgress, signal: abort.signal });
      if (controller.current === abort) setState({ running: false, result });
      return result;
    } catch (e) {
      if (controller.current === abort) setState((s) => ({ running: false, result: s.result, error: e as Error }));
      return undefined;
    }
  }, []);

  const cancel = useCallback(() => controller.current?.abort(), []);
  return { ...state, run, cancel };
}
