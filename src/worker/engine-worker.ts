// The engine's home in the browser: a dedicated worker (WebGPU, IndexedDB and file handles all work
// here), so the page never freezes during generation or training.
/// <reference lib="webworker" />
import * as tf from '@tensorflow/tfjs';
import { createBrowserEngine } from '../engine/browser';
import type { Engine } from '../engine/engine';
import { f16BitsToF32 } from '../engine/f16';
import { packedF16FromBits, unpackF16 } from '../engine/f16-tensor';
import { Philox } from '../random/philox';
import { CancelledError, serializeError, type EngineMethods, type MethodName, type WorkerEvent, type WorkerRequest } from './messages';

interface Context {
  progress(done: number, total: number, label?: string): void;
  /** Throws CancelledError once the page has cancelled this request. */
  checkCancelled(): void;
}

type Handlers = { [M in MethodName]: (params: EngineMethods[M]['params'], ctx: Context) => Promise<EngineMethods[M]['result']> };

let engine: Engine | undefined;
const cancelled = new Set<number>();

function requireEngine(): Engine {
  if (!engine) throw new Error('the GPU engine has not been started');
  return engine;
}

const handlers: Handlers = {
  async start({ precision }) {
    engine ??= await createBrowserEngine({ precision });
    return engine.info();
  },

  async selfTest() {
    const e = requireEngine();
    const t0 = performance.now();
    const bits = new Uint16Array(1001);
    const words = new Philox(1).words(bits.length);
    for (let i = 0; i < bits.length; i++) bits[i] = words[i] & 0x7bff; // finite halves only
    const packed = packedF16FromBits(bits, [bits.length]);
    const unpacked = unpackF16(packed);
    const got = await e.read(unpacked);
    let kernelMaxError = 0;
    for (let i = 0; i < bits.length; i++) kernelMaxError = Math.max(kernelMaxError, Math.abs(got[i] - f16BitsToF32(bits[i])));
    tf.dispose([packed.packed, unpacked]);

    const n = 48;
    const a = new Philox(2).normal(n * n);
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(a, [n, n]), tf.tensor2d(a, [n, n])));
    const c = await e.read(product);
    product.dispose();
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += a[i * n + k] * a[k * n + j];
        num += (c[i * n + j] - acc) ** 2;
        den += acc * acc;
      }
    return { kernelMaxError, matmulRelError: Math.sqrt(num / den), ms: performance.now() - t0 };
  },

  async noise({ seed, count }) {
    return new Philox(seed).normal(count);
  },
};

function post(event: WorkerEvent, transfer: Transferable[] = []): void {
  (self as DedicatedWorkerGlobalScope).postMessage(event, transfer);
}

self.onmessage = async (message: MessageEvent<WorkerRequest>) => {
  const request = message.data;
  if (request.kind === 'cancel') {
    cancelled.add(request.id);
    return;
  }
  const { id, method, params } = request;
  const ctx: Context = {
    progress: (done, total, label) => post({ kind: 'progress', id, done, total, label }),
    checkCancelled: () => {
      if (cancelled.has(id)) throw new CancelledError();
    },
  };
  try {
    const handler = handlers[method] as (p: unknown, c: Context) => Promise<unknown>;
    const value = await handler(params, ctx);
    post({ kind: 'result', id, value }, ArrayBuffer.isView(value) ? [value.buffer as ArrayBuffer] : []);
  } catch (e) {
    post({ kind: 'error', id, error: serializeError(e) });
  } finally {
    cancelled.delete(id);
  }
};
