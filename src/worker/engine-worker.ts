// The engine's home in the browser: a dedicated worker (WebGPU, IndexedDB and file handles all work
// here), so the page never freezes during generation or training.
/// <reference lib="webworker" />
import * as tf from '@tensorflow/tfjs';
import { createBrowserEngine } from '../engine/browser';
import type { Engine } from '../engine/engine';
import { f16BitsToF32 } from '../engine/f16';
import { packedF16FromBits, unpackF16 } from '../engine/f16-tensor';
import { Philox } from '../random/philox';
import { deleteCheckpoint, exportCheckpoint, listCheckpoints } from './checkpoint-handlers';
import { report, scanFolder } from './dataset-handlers';
import type { HandlerContext } from './handler-context';
import { generateImages } from './generation-handlers';
import { hubInfo } from './hub-source';
import { CancelledError, serializeError, type EngineMethods, type MethodName, type WorkerEvent, type WorkerRequest } from './messages';
import { loadModel } from './model-loader';
import { exportStencil, openImage, stencilPreview } from './stencil-handlers';
import { clearModelCache, storageInfo } from './storage-handlers';
import { planTraining, resumableRuns, setPaused, train } from './training-handlers';

type Handlers = { [M in MethodName]: (params: EngineMethods[M]['params'], ctx: HandlerContext) => Promise<EngineMethods[M]['result']> };

let engine: Engine | undefined;
/** Abort controllers of the requests in flight, by id. */
const inFlight = new Map<number, AbortController>();

function requireEngine(): Engine {
  if (!engine) throw new Error('the GPU engine has not been started');
  return engine;
}

const handlers: Handlers = {
  async start({ precision, memoryBudgetBytes }) {
    if (!engine) {
      engine = await createBrowserEngine({ precision, memoryBudgetBytes });
      engine.onLost((error) => post({ kind: 'device-lost', error: serializeError(error) }));
    }
    return engine.info();
  },

  async setMemoryBudget({ bytes }) {
    requireEngine().bridge.budgetBytes = bytes;
  },

  async simulateDeviceLoss() {
    requireEngine().simulateDeviceLoss();
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

  async loadModel({ source }, ctx) {
    requireEngine();
    return loadModel(source, ctx);
  },

  hubInfo: ({ repo, token }, ctx) => hubInfo(repo, token, ctx.signal),
  storageInfo: () => storageInfo(),
  clearModelCache: () => clearModelCache(),
  openImage: ({ file, name }) => openImage(file, name),
  stencil: async ({ imageId, options, layer }) => stencilPreview(imageId, options, layer),
  exportStencil: (params) => exportStencil(params),
  scanDataset: ({ source }, ctx) => scanFolder(source, ctx),
  selectDataset: ({ selection }) => report(selection),
  checkpoints: () => listCheckpoints(),
  deleteCheckpoint: ({ id }) => deleteCheckpoint(id),
  exportCheckpoint: ({ id, dtype }) => exportCheckpoint(id, dtype),
  train: (params, ctx) => train(params, ctx),
  pauseTraining: async ({ paused }) => setPaused(paused),
  resumableRuns: () => resumableRuns(),
  trainingPlan: async (params) => planTraining(params),
  generate: (params, ctx) => generateImages(params, ctx),
};

/** Typed arrays in a result (itself or its top-level fields) move to the page instead of being copied. */
function transferables(value: unknown): Transferable[] {
  const candidates = ArrayBuffer.isView(value) ? [value] : value && typeof value === 'object' ? Object.values(value) : [];
  const buffers = new Set<ArrayBuffer>();
  for (const c of candidates) if (ArrayBuffer.isView(c) && c.buffer instanceof ArrayBuffer) buffers.add(c.buffer);
  return [...buffers];
}

function post(event: WorkerEvent, transfer: Transferable[] = []): void {
  (self as DedicatedWorkerGlobalScope).postMessage(event, transfer);
}

self.onmessage = async (message: MessageEvent<WorkerRequest>) => {
  const request = message.data;
  if (request.kind === 'cancel') {
    inFlight.get(request.id)?.abort();
    return;
  }
  const { id, method, params } = request;
  const controller = new AbortController();
  inFlight.set(id, controller);
  const ctx: HandlerContext = {
    progress: (done, total, label, detail) => post({ kind: 'progress', id, done, total, label, detail }),
    checkCancelled: () => {
      if (controller.signal.aborted) throw new CancelledError();
    },
    signal: controller.signal,
  };
  try {
    const handler = handlers[method] as (p: unknown, c: HandlerContext) => Promise<unknown>;
    const value = await handler(params, ctx);
    post({ kind: 'result', id, value }, transferables(value));
  } catch (e) {
    post({ kind: 'error', id, error: controller.signal.aborted ? serializeError(new CancelledError()) : serializeError(e) });
  } finally {
    inFlight.delete(id);
  }
};
