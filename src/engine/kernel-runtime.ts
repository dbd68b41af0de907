// Our WGSL kernels on tfjs tensors. A kernel is a file in shaders/, specialised by a template step
// ({{NAME}} replaced from `defines`) and WGSL `override` constants, compiled once per variant.
//
// Binding convention for every kernel (group 0): inputs first (read-only storage), then outputs
// (read_write storage; an in-place output is an existing tensor), then one uniform buffer if any.
// The bind group layout is explicit, so a binding the code does not use is harmless.
import type * as tf from '@tensorflow/tfjs';
import { KernelError } from './errors';
import type { TfjsBridge } from './tfjs-bridge';

export type ShaderSource = (name: string) => string;

export interface KernelVariant {
  defines?: Record<string, string | number>;
  constants?: Record<string, number>;
  entryPoint?: string;
}

export type OutputSpec = { shape: number[]; dtype?: 'float32' | 'int32' } | { inPlace: tf.Tensor };

export type UniformValue = ['u32' | 'i32' | 'f32', number];

export interface KernelCall {
  inputs: tf.Tensor[];
  outputs: OutputSpec[];
  uniforms?: UniformValue[];
  /** Workgroup counts; each at most the device's maxComputeWorkgroupsPerDimension. */
  workgroups: [number, number?, number?];
}

export interface EngineLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
}

interface CompiledKernel {
  label: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

const QUERY_CAPACITY = 4096;

export class KernelRuntime {
  private readonly cache = new Map<string, CompiledKernel>();
  private readonly pendingErrors: Promise<Error | null>[] = [];
  private readonly asyncErrors: Error[] = [];
  private profiler?: { querySet: GPUQuerySet; names: string[] };
  lastKernel = '';

  constructor(
    private readonly device: GPUDevice,
    private readonly bridge: TfjsBridge,
    private readonly source: ShaderSource,
    readonly limits: EngineLimits,
    readonly features: ReadonlySet<string>,
  ) {}

  /** The WGSL of a variant after the template step (also what the cache key is made from). */
  code(name: string, variant: KernelVariant = {}): string {
    let code = this.source(name);
    for (const [key, value] of Object.entries(variant.defines ?? {})) code = code.split(`{{${key}}}`).join(String(value));
    const left = /\{\{(\w+)\}\}/.exec(code);
    if (left) throw new KernelError(name, `template value {{${left[1]}}} was not given`);
    return code;
  }

  /** Compiles ahead of use and throws a KernelError with the compiler's messages if the WGSL is invalid. */
  async compile(name: string, variant: KernelVariant, inputs: number, outputs: number, uniforms: boolean): Promise<void> {
    const key = this.key(name, variant, inputs, outputs, uniforms);
    if (this.cache.has(key)) return;
    const code = this.code(name, variant);
    const module = this.device.createShaderModule({ code, label: name });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new KernelError(name, `WGSL does not compile:\n${errors.map((m) => `  line ${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}`);
    }
    const layout = this.layout(inputs, outputs, uniforms);
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label: name,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: variant.entryPoint ?? 'main', constants: variant.constants },
      });
      this.cache.set(key, { label: name, pipeline, layout });
    } catch (e) {
      throw new KernelError(name, `pipeline creation failed: ${(e as Error).message}`);
    }
  }

  run(name: string, variant: KernelVariant, call: KernelCall): tf.Tensor[] {
    const { inputs, outputs } = call;
    const workgroups: [number, number, number] = [call.workgroups[0], call.workgroups[1] ?? 1, call.workgroups[2] ?? 1];
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((n) => !Number.isInteger(n) || n < 0 || n > max)) {
      throw new KernelError(name, `dispatch [${workgroups.join(', ')}] is invalid: each count must be an integer in 0..${max}`);
    }
    const bindings = inputs.length + outputs.length;
    if (bindings > this.limits.maxStorageBuffersPerShaderStage) {
      throw new KernelError(name, `${bindings} storage bindings exceed the device's ${this.limits.maxStorageBuffersPerShaderStage}`);
    }
    const kernel = this.pipeline(name, variant, inputs.length, outputs.length, call.uniforms !== undefined);
    const results = outputs.map((spec, i) => {
      if ('inPlace' in spec) {
        if (this.bridge.refCount(spec.inPlace) !== 1) {
          throw new KernelError(name, `in-place output ${i} shares its storage with another tensor (clone it first)`);
        }
        return spec.inPlace;
      }
      return this.bridge.emptyTensor(spec.shape, spec.dtype ?? 'float32');
    });
    const all = [...inputs, ...results];
    const entries: GPUBindGroupEntry[] = all.map((t, i) => {
      const buffer = this.bridge.bufferOf(t);
      if (buffer.size > this.limits.maxStorageBufferBindingSize) {
        throw new KernelError(name, `binding ${i} is ${buffer.size} bytes, over the ${this.limits.maxStorageBufferBindingSize}-byte storage binding limit (chunk it)`);
      }
      return { binding: i, resource: { buffer } };
    });
    if (call.uniforms) entries.push({ binding: all.length, resource: { buffer: this.bridge.uniformBuffer(packUniforms(call.uniforms)) } });
    for (const spec of outputs) if ('inPlace' in spec) this.bridge.invalidateCpuCopy(spec.inPlace);
    if (workgroups.every((n) => n > 0) && all.every((t) => t.size > 0)) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      const bindGroup = this.device.createBindGroup({ layout: kernel.layout, entries, label: name });
      this.watch(name, 'bind group');
      this.watch(name, 'out of memory');
      this.lastKernel = name;
      this.bridge.recordDispatch(kernel.pipeline, bindGroup, workgroups, all, this.timestampWrites(name));
    }
    return results;
  }

  /** Resolves once every error scope opened so far has been popped; throws the first kernel error. */
  async checkErrors(): Promise<void> {
    const results = await Promise.all(this.pendingErrors.splice(0));
    const errors = [...this.asyncErrors.splice(0), ...results.filter((e): e is Error => e !== null)];
    if (errors.length) throw errors[0];
  }

  /** An error the device reported outside any scope (e.g. from a tfjs op). */
  reportUncaptured(error: Error): void {
    this.asyncErrors.push(error);
  }

  startProfiling(): void {
    if (!this.features.has('timestamp-query')) throw new Error('this device has no timestamp-query');
    this.profiler = { querySet: this.device.createQuerySet({ type: 'timestamp', count: QUERY_CAPACITY }), names: [] };
  }

  /** Stops profiling and returns GPU milliseconds per kernel name. */
  async stopProfiling(): Promise<Map<string, number>> {
    const p = this.profiler;
    this.profiler = undefined;
    const out = new Map<string, number>();
    if (!p || p.names.length === 0) return out;
    const count = p.names.length * 2;
    const resolve = this.device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const read = this.device.createBuffer({ size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.bridge.submit((encoder) => {
      encoder.resolveQuerySet(p.querySet, 0, count, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, read, 0, count * 8);
    });
    await read.mapAsync(GPUMapMode.READ);
    const ticks = new BigInt64Array(read.getMappedRange().slice(0));
    read.unmap();
    [resolve, read].forEach((b) => b.destroy());
    p.querySet.destroy();
    p.names.forEach((name, i) => out.set(name, (out.get(name) ?? 0) + Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6));
    return out;
  }

  private timestampWrites(name: string): GPUComputePassTimestampWrites | undefined {
    const p = this.profiler;
    if (!p || p.names.length * 2 >= QUERY_CAPACITY) return undefined;
    const i = p.names.push(name) - 1;
    return { querySet: p.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  private watch(name: string, what: string): void {
    this.pendingErrors.push(
      this.device.popErrorScope().then((e) => (e ? new KernelError(name, `${what}: ${e.message}`) : null)),
    );
  }

  private key(name: string, variant: KernelVariant, inputs: number, outputs: number, uniforms: boolean): string {
    return JSON.stringify([name, variant.defines ?? {}, variant.constants ?? {}, variant.entryPoint ?? 'main', inputs, outputs, uniforms]);
  }

  private pipeline(name: string, variant: KernelVariant, inputs: number, outputs: number, uniforms: boolean): CompiledKernel {
    const key = this.key(name, variant, inputs, outputs, uniforms);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const layout = this.layout(inputs, outputs, uniforms);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: this.code(name, variant), label: name });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: variant.entryPoint ?? 'main', constants: variant.constants },
    });
    this.watch(name, 'compile');
    const compiled = { label: name, pipeline, layout };
    this.cache.set(key, compiled);
    return compiled;
  }

  private layout(inputs: number, outputs: number, uniforms: boolean): GPUBindGroupLayout {
    const entries: GPUBindGroupLayoutEntry[] = [];
    for (let i = 0; i < inputs + outputs; i++) {
      entries.push({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: i < inputs ? 'read-only-storage' : 'storage' } });
    }
    if (uniforms) entries.push({ binding: inputs + outputs, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
    return this.device.createBindGroupLayout({ entries });
  }
}

/** Scalars packed in order, 4 bytes each (a WGSL struct of scalar u32/i32/f32 fields). */
export function packUniforms(values: UniformValue[]): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((values.length * 4) / 16) * 16));
  const view = new DataView(bytes);
  values.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'u32') view.setUint32(i * 4, value >>> 0, true);
    else view.setInt32(i * 4, value | 0, true);
  });
  return bytes;
}
