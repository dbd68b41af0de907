// The engine: one GPUDevice, tfjs's WebGPU backend on it (tfjs ops and our kernels share buffers), the
// kernel runtime, precision choice and memory accounting. One engine per page, worker or Node process.
import * as tf from '@tensorflow/tfjs';
import { acquireDevice } from './device';
import { DeviceLostError, GpuOutOfMemoryError, KernelError } from './errors';
import { KernelRuntime, type EngineLimits, type ShaderSource } from './kernel-runtime';
import { TfjsBridge, type MemoryStats } from './tfjs-bridge';

export type Precision = 'f16' | 'f32';

export interface EngineOptions {
  gpu: GPU | undefined;
  shaders: ShaderSource;
  /** 'auto' (default): f16 weights where the device has shader-f16. */
  precision?: Precision | 'auto';
  /** Test-only: lower limits so the chunking and dispatch-splitting paths run on small tensors. */
  testLimits?: Partial<EngineLimits>;
  /** The user's GPU memory budget (WebGPU does not report the GPU's size). */
  memoryBudgetBytes?: number;
}

export interface EngineInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean };
  features: string[];
  precision: Precision;
  f16Available: boolean;
  limits: EngineLimits;
  tfjsBackend: string;
}

export class Engine {
  readonly kernels: KernelRuntime;
  readonly limits: EngineLimits;
  readonly precision: Precision;
  private lost?: DeviceLostError;
  private readonly lostListeners: ((error: DeviceLostError) => void)[] = [];
  private simulatingLoss = false;

  private constructor(
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly features: ReadonlySet<string>,
    readonly bridge: TfjsBridge,
    options: EngineOptions,
  ) {
    const dl = device.limits;
    this.limits = {
      maxBufferSize: dl.maxBufferSize,
      maxStorageBufferBindingSize: dl.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: dl.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: dl.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: dl.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: dl.maxComputeInvocationsPerWorkgroup,
    };
    for (const [name, value] of Object.entries(options.testLimits ?? {}) as [keyof EngineLimits, number][]) {
      this.limits[name] = Math.min(this.limits[name], value);
    }
    const f16 = features.has('shader-f16');
    const wanted = options.precision ?? 'auto';
    if (wanted === 'f16' && !f16) throw new Error('f16 precision asked for, but this GPU has no shader-f16; use f32');
    this.precision = wanted === 'auto' ? (f16 ? 'f16' : 'f32') : wanted;
    if (options.memoryBudgetBytes !== undefined) bridge.budgetBytes = options.memoryBudgetBytes;
    this.kernels = new KernelRuntime(device, bridge, options.shaders, this.limits, features);
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.kernels.reportUncaptured(
        error instanceof GPUOutOfMemoryError
          ? new GpuOutOfMemoryError(`GPU out of memory (last kernel '${this.kernels.lastKernel}'): ${error.message}`, 0)
          : new KernelError(this.kernels.lastKernel || 'tfjs', error.message),
      );
    });
    void device.lost.then((info) => {
      if (info.reason === 'destroyed' && !this.simulatingLoss) return;
      this.lost = new DeviceLostError(this.simulatingLoss ? 'simulated' : info.reason, info.message || 'the device was destroyed');
      for (const listener of this.lostListeners.splice(0)) listener(this.lost);
    });
  }

  static async create(options: EngineOptions): Promise<Engine> {
    const { adapter, device, features } = await acquireDevice(options.gpu);
    const bridge = new TfjsBridge(device, adapter.info);
    await bridge.activate();
    const engine = new Engine(adapter, device, new Set(features), bridge, options);
    current = engine;
    return engine;
  }

  /** Calls `listener` once when the device is lost (a driver reset, a GPU process crash), not when disposed. */
  onLost(listener: (error: DeviceLostError) => void): void {
    if (this.lost) listener(this.lost);
    else this.lostListeners.push(listener);
  }

  /** Loses the device the way a driver reset does: how the app's recovery is exercised (tests, diagnostics). */
  simulateDeviceLoss(): void {
    this.simulatingLoss = true;
    this.device.destroy();
  }

  get f16(): boolean {
    return this.precision === 'f16';
  }

  info(): EngineInfo {
    const a = this.adapter.info;
    return {
      adapter: {
        vendor: a.vendor,
        architecture: a.architecture,
        device: a.device,
        description: a.description,
        isFallbackAdapter: (a as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
      },
      features: [...this.features].sort(),
      precision: this.precision,
      f16Available: this.features.has('shader-f16'),
      limits: { ...this.limits },
      tfjsBackend: tf.getBackend(),
    };
  }

  /** Submits pending work, waits for the GPU, and throws any error a kernel or the device raised. */
  async sync(): Promise<void> {
    if (this.lost) throw this.lost;
    this.bridge.submit();
    await this.device.queue.onSubmittedWorkDone();
    await this.kernels.checkErrors();
    if (this.lost) throw this.lost;
  }

  /** Reads a tensor back after checking for errors (tfjs alone would return zeros after a failed kernel). */
  async read(t: tf.Tensor): Promise<Float32Array | Int32Array> {
    const data = (await t.data()) as Float32Array | Int32Array;
    await this.sync();
    return data;
  }

  memory(): MemoryStats {
    return this.bridge.memory();
  }

  resetPeakMemory(): void {
    this.bridge.resetPeak();
  }

  purgePool(): number {
    return this.bridge.purgePool();
  }

  dispose(): void {
    if (current === this) current = undefined;
    tf.disposeVariables();
    this.device.destroy();
  }
}

let current: Engine | undefined;

/** The engine of this page, worker or process (created by Engine.create). */
export function engine(): Engine {
  if (!current) throw new Error('the GPU engine has not been started');
  return current;
}
