// The typed messages between the page and the engine worker: requests with an id, answered by one
// result or error, with progress events in between; cancellation by id.
import type { EngineInfo } from '../engine/engine';

export interface SelfTestResult {
  /** Largest |GPU − CPU| of the f16-unpack kernel over random halves (exact: 0). */
  kernelMaxError: number;
  /** Largest relative error of a tfjs matmul against a float64 CPU product. */
  matmulRelError: number;
  ms: number;
}

/** Method name -> its parameters and result. */
export interface EngineMethods {
  start: { params: { precision: 'auto' | 'f16' | 'f32' }; result: EngineInfo };
  selfTest: { params: Record<string, never>; result: SelfTestResult };
  noise: { params: { seed: number; count: number }; result: Float32Array };
}

export type MethodName = keyof EngineMethods;

export type WorkerRequest =
  | { kind: 'request'; id: number; method: MethodName; params: unknown }
  | { kind: 'cancel'; id: number };

export interface SerializedError {
  name: string;
  message: string;
  /** For NoGpuError: what is missing (no-webgpu, no-adapter, device-failed). */
  reason?: string;
}

export type WorkerEvent =
  | { kind: 'result'; id: number; value: unknown }
  | { kind: 'error'; id: number; error: SerializedError }
  | { kind: 'progress'; id: number; done: number; total: number; label?: string };

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const reason = (e as Error & { reason?: unknown }).reason;
    return { name: e.name, message: e.message, ...(typeof reason === 'string' ? { reason } : {}) };
  }
  return { name: 'Error', message: String(e) };
}
