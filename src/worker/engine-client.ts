// The page's side of the engine worker: typed calls that resolve with the result, report progress
// and can be cancelled with an AbortSignal.
import { NoGpuError } from '../engine/errors';
import {
  CancelledError,
  type EngineMethods,
  type MethodName,
  type ProgressDetail,
  type SerializedError,
  type WorkerEvent,
  type WorkerRequest,
} from './messages';

export interface CallOptions<Detail = undefined> {
  /** `detail` carries the method's structured progress (a training step's report), where it has one. */
  onProgress?: (done: number, total: number, label?: string, detail?: Detail) => void;
  signal?: AbortSignal;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: CallOptions<unknown>['onProgress'];
}

function toError(e: SerializedError): Error {
  if (e.name === 'NoGpuError') return new NoGpuError(e.message, (e.reason ?? 'no-webgpu') as NoGpuError['reason']);
  if (e.name === 'CancelledError') return new CancelledError();
  // The name and reason survive the trip so the page can say what to do (HubError 'gated', QuotaExceededError...).
  const error = Object.assign(new Error(e.message), e.reason === undefined ? {} : { reason: e.reason });
  error.name = e.name;
  return error;
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Called when the worker's GPU device is lost; the worker is of no further use then. */
  onDeviceLost?: (error: Error) => void;

  constructor(private readonly worker: Worker) {
    worker.onmessage = (message: MessageEvent<WorkerEvent>) => this.receive(message.data);
    worker.onerror = (event) => {
      const error = new Error(`the engine worker failed: ${event.message || 'script error'}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
  }

  static spawn(): EngineClient {
    return new EngineClient(new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'engine' }));
  }

  call<M extends MethodName>(
    method: M,
    params: EngineMethods[M]['params'],
    options: CallOptions<ProgressDetail<M>> = {},
  ): Promise<EngineMethods[M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(new CancelledError());
      options.signal?.addEventListener('abort', () => this.send({ kind: 'cancel', id }), { once: true });
      const onProgress = options.onProgress as Pending['onProgress'];
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      this.send({ kind: 'request', id, method, params });
    });
  }

  /** Stops the worker; calls still waiting fail with `reason`. */
  terminate(reason: Error = new Error('the engine worker was stopped')): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }

  private send(request: WorkerRequest): void {
    this.worker.postMessage(request);
  }

  private receive(event: WorkerEvent): void {
    if (event.kind === 'device-lost') {
      this.onDeviceLost?.(toError(event.error));
      return;
    }
    const p = this.pending.get(event.id);
    if (!p) return;
    if (event.kind === 'progress') {
      p.onProgress?.(event.done, event.total, event.label, event.detail);
      return;
    }
    this.pending.delete(event.id);
    if (event.kind === 'result') p.resolve(event.value);
    else p.reject(toError(event.error));
  }
}
