// Everything that reaches into tfjs-backend-webgpu's internals (4.22) lives here: the backend built on
// our device, buffers of tensors, recording our own dispatches into tfjs's command encoder, and the
// buffer pool. See shared research/tfjs-webgpu.md for why each step is needed.
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { GpuOutOfMemoryError } from './errors';

interface TensorData {
  resource: GPUBuffer | null;
  values: unknown;
  refCount: number;
}

interface BufferManager {
  numBytesUsed: number;
  numBytesAllocated: number;
  numFreeBuffers: number;
  freeBuffers: Map<string, GPUBuffer[]>;
  acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GPUBuffer;
}

interface BackendInternals {
  device: GPUDevice;
  tensorMap: { get(id: tf.DataId): TensorData };
  bufferManager: BufferManager;
  commandQueueOwnedIds: WeakSet<object>;
  uniformPendingDisposal: GPUBuffer[];
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  uploadToGPU(id: tf.DataId): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  refCount(id: tf.DataId): number;
}

export interface MemoryStats {
  /** Bytes in tensors that are alive. */
  liveBytes: number;
  /** Bytes held from the GPU, including tfjs's pool of free buffers. */
  allocatedBytes: number;
  /** Highest liveBytes since the last resetPeak(). */
  peakLiveBytes: number;
  numTensors: number;
}

const ENABLE_DIRECTIVE = /^\s*enable\s+[\w\s,]+;\s*$/gm;

/** tfjs prepends its preamble to program code; WGSL `enable` directives must come first. */
function hoistEnableDirectives(device: GPUDevice): void {
  const create = device.createShaderModule.bind(device);
  device.createShaderModule = (descriptor: GPUShaderModuleDescriptor) => {
    const directives: string[] = [];
    const code = descriptor.code.replace(ENABLE_DIRECTIVE, (m) => (directives.push(m.trim()), ''));
    if (directives.length === 0) return create(descriptor);
    return create({ ...descriptor, code: `${[...new Set(directives)].join('\n')}\n${code}` });
  };
}

export class TfjsBridge {
  readonly backend: WebGPUBackend;
  private readonly internals: BackendInternals;
  private peakLive = 0;
  /** Bytes the pool may hold from the GPU; past it, allocation purges the pool, then fails clearly. */
  budgetBytes = Infinity;

  constructor(readonly device: GPUDevice, adapterInfo: GPUAdapterInfo | undefined) {
    hoistEnableDirectives(device);
    this.backend = new WebGPUBackend(device, adapterInfo);
    this.internals = this.backend as unknown as BackendInternals;
    this.trackAllocations();
  }

  async activate(): Promise<void> {
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => this.backend, 10);
    if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs refused the WebGPU backend');
  }

  private trackAllocations(): void {
    const pool = this.internals.bufferManager;
    const acquire = pool.acquireBuffer.bind(pool);
    pool.acquireBuffer = (size, usage, mappedAtCreation, reuse) => {
      const key = `${size}_${usage}`;
      const pooled = reuse !== false && (pool.freeBuffers.get(key)?.length ?? 0) > 0;
      if (!pooled && pool.numBytesAllocated + size > this.budgetBytes) {
        this.purgePool();
        if (pool.numBytesAllocated + size > this.budgetBytes) {
          throw new GpuOutOfMemoryError(
            `GPU memory budget exceeded: ${mib(pool.numBytesAllocated)} MiB held, ${mib(size)} MiB more needed, ` +
              `budget ${mib(this.budgetBytes)} MiB. Raise the budget, or use LoRA, a lower resolution or gradient checkpointing.`,
            size,
          );
        }
      }
      const buffer = acquire(size, usage, mappedAtCreation, reuse);
      this.peakLive = Math.max(this.peakLive, pool.numBytesUsed);
      return buffer;
    };
  }

  /** The GPUBuffer behind a tensor, uploading CPU-resident data first. */
  bufferOf(t: tf.TensorInfo): GPUBuffer {
    this.internals.uploadToGPU(t.dataId);
    const resource = this.internals.tensorMap.get(t.dataId).resource;
    if (!(resource instanceof GPUBuffer)) throw new Error('tensor is not backed by a GPU buffer');
    return resource;
  }

  /** A new tensor (tracked by tidy) whose GPU buffer is allocated but not initialised. */
  emptyTensor(shape: number[], dtype: 'float32' | 'int32'): tf.Tensor {
    const info = this.internals.makeTensorInfo(shape, dtype);
    this.internals.uploadToGPU(info.dataId);
    return tf.engine().makeTensorFromTensorInfo(info);
  }

  refCount(t: tf.Tensor): number {
    return this.internals.refCount(t.dataId);
  }

  /** After a GPU write, drop tfjs's stale CPU copy of the values. */
  invalidateCpuCopy(t: tf.Tensor): void {
    this.internals.tensorMap.get(t.dataId).values = null;
  }

  uniformBuffer(bytes: ArrayBuffer): GPUBuffer {
    const size = Math.ceil(bytes.byteLength / 16) * 16;
    const buffer = this.internals.bufferManager.acquireBuffer(size, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, bytes);
    this.internals.uniformPendingDisposal.push(buffer);
    return buffer;
  }

  /**
   * Records one dispatch into tfjs's command stream, so it is ordered with tfjs's own kernels.
   * With timestampWrites the dispatch gets a pass of its own.
   */
  recordDispatch(
    pipeline: GPUComputePipeline,
    bindGroup: GPUBindGroup,
    workgroups: [number, number, number],
    tensors: tf.Tensor[],
    timestampWrites?: GPUComputePassTimestampWrites,
  ): void {
    const b = this.internals;
    for (const t of tensors) b.commandQueueOwnedIds.add(t.dataId);
    b.ensureCommandEncoderReady();
    if (timestampWrites) {
      b.endComputePassEncoder();
      b.computePassEncoder = b.commandEncoder!.beginComputePass({ timestampWrites });
    } else if (!b.computePassEncoder) {
      b.computePassEncoder = b.commandEncoder!.beginComputePass({});
    }
    const pass = b.computePassEncoder!;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...workgroups);
    b.dispatchCountInPass++;
    if (timestampWrites) b.endComputePassEncoder();
    if (b.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
      b.endComputePassEncoder();
      b.submitQueue();
    }
  }

  /**
   * Records a buffer-to-buffer copy into tfjs's command stream (ordered with the kernels around it, no
   * submit): `bytes` from `src` at `srcOffset` to `dst` at `dstOffset`.
   */
  recordCopy(src: tf.Tensor, srcOffset: number, dst: tf.Tensor, dstOffset: number, bytes: number): void {
    const from = this.bufferOf(src);
    const to = this.bufferOf(dst);
    const b = this.internals;
    b.commandQueueOwnedIds.add(src.dataId);
    b.commandQueueOwnedIds.add(dst.dataId);
    this.invalidateCpuCopy(dst);
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.commandEncoder!.copyBufferToBuffer(from, srcOffset, to, dstOffset, bytes);
  }

  /** Ends the current pass and submits tfjs's pending commands, with `extra` recorded before submit. */
  submit(extra?: (encoder: GPUCommandEncoder) => void): void {
    const b = this.internals;
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    extra?.(b.commandEncoder!);
    b.submitQueue();
  }

  memory(): MemoryStats {
    const pool = this.internals.bufferManager;
    return {
      liveBytes: pool.numBytesUsed,
      allocatedBytes: pool.numBytesAllocated,
      peakLiveBytes: this.peakLive,
      numTensors: tf.memory().numTensors,
    };
  }

  resetPeak(): void {
    this.peakLive = this.internals.bufferManager.numBytesUsed;
  }

  /** Gives tfjs's free buffers back to the GPU (tfjs pools by exact size and never frees). */
  purgePool(): number {
    const pool = this.internals.bufferManager;
    let freed = 0;
    for (const buffers of pool.freeBuffers.values()) {
      for (const buffer of buffers) {
        freed += buffer.size;
        buffer.destroy();
      }
      buffers.length = 0;
    }
    pool.numFreeBuffers = 0;
    pool.numBytesAllocated -= freed;
    return freed;
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
