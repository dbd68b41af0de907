// The engine on Dawn + lavapipe: device, kernel runtime (compile, cache, dispatch, multiple outputs,
// in place, f16), errors that name the kernel, memory accounting, timestamps, lowered limits.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { GpuOutOfMemoryError, KernelError } from '../../src/engine/errors';
import { f16BitsToF32, packHalves, toF16Bits } from '../../src/engine/f16';
import { packedF16FromBits, unpackF16 } from '../../src/engine/f16-tensor';
import { startEngine } from '../engine-helpers';
import { random } from '../reference/cpu';

let engine: Engine;
// Lowered dispatch limit: the f16-unpack grid must fold into 2D on a small tensor.
beforeAll(async () => {
  engine = await startEngine({ testLimits: { maxComputeWorkgroupsPerDimension: 4 } });
});
afterAll(() => engine.dispose());

describe('engine', () => {
  it('runs tfjs on our device with the features we asked for', async () => {
    const info = engine.info();
    expect(info.tfjsBackend).toBe('webgpu');
    expect(info.features).toContain('shader-f16');
    expect(info.precision).toBe('f16');
    expect(engine.device.limits.maxStorageBuffersPerShaderStage).toBeGreaterThan(8);
    expect(info.limits.maxComputeWorkgroupsPerDimension).toBe(4);
    const sum = await engine.read(tf.tidy(() => tf.sum(tf.range(0, 100))));
    expect(sum[0]).toBe(4950);
  });

  it('unpacks f16 through the runtime exactly, on a 2D grid past the lowered dispatch limit', async () => {
    const n = 4097; // odd: a padding half; 2049 words > 4 workgroups * 256
    const values = random([n], 7, 3).data;
    const bits = toF16Bits(values);
    bits[0] = 0x0001; // smallest subnormal
    bits[1] = 0x7c00; // +inf
    bits[2] = 0xfc00; // -inf
    bits[3] = 0x7e00; // NaN
    bits[4] = 0x83ff; // largest negative subnormal
    const p = packedF16FromBits(bits, [n]);
    const out = tf.tidy(() => unpackF16(p));
    const got = await engine.read(out);
    for (let i = 0; i < n; i++) {
      const want = f16BitsToF32(bits[i]);
      if (Number.isNaN(want)) expect(Number.isNaN(got[i])).toBe(true);
      else expect(got[i]).toBe(want);
    }
    tf.dispose([out, p.packed]);
  });

  it('runs a kernel with two outputs in one dispatch', async () => {
    const x = random([250], 3, 4);
    const input = tf.tensor1d(Float32Array.from(x.data));
    const before = tf.memory().numTensors;
    const [s, c] = tf.tidy(() =>
      engine.kernels.run('test-sincos', {}, { inputs: [input], outputs: [{ shape: [250] }, { shape: [250] }], uniforms: [['u32', 250]], workgroups: [4] }),
    );
    expect(tf.memory().numTensors).toBe(before + 2);
    const [sv, cv] = [await engine.read(s), await engine.read(c)];
    for (let i = 0; i < 250; i++) {
      const xi = Math.fround(x.data[i]);
      expect(Math.abs(sv[i] - Math.sin(xi))).toBeLessThan(2e-6);
      expect(Math.abs(cv[i] - Math.cos(xi))).toBeLessThan(2e-6);
    }
    tf.dispose([input, s, c]);
  });

  it('updates a tensor in place, keeps its identity and drops the stale CPU copy', async () => {
    const x = tf.tensor1d([1, 2, 3, 4]);
    const y = tf.tensor1d([10, 20, 30, 40]);
    await y.data(); // caches the values on the CPU side
    const [out] = engine.kernels.run('test-axpy-inplace', {}, {
      inputs: [x], outputs: [{ inPlace: y }], uniforms: [['u32', 4], ['f32', 0.5]], workgroups: [1],
    });
    expect(out).toBe(y);
    expect(Array.from(await engine.read(y))).toEqual([10.5, 21, 31.5, 42]);
    const alias = y.clone();
    expect(() => engine.kernels.run('test-axpy-inplace', {}, {
      inputs: [x], outputs: [{ inPlace: y }], uniforms: [['u32', 4], ['f32', 1]], workgroups: [1],
    })).toThrow(/test-axpy-inplace.*shares its storage/);
    tf.dispose([x, y, alias]);
  });

  it('compiles kernels with enable f16 and reads f16 storage', async () => {
    const halves = toF16Bits([1.5, -2.25, 0.5, 65504 / 4]);
    const h = tf.tensor1d(packHalves(halves), 'int32');
    const [y] = engine.kernels.run('test-f16-scale', {}, { inputs: [h], outputs: [{ shape: [4] }], workgroups: [1] });
    expect(Array.from(await engine.read(y))).toEqual([3, -4.5, 1, 65504 / 2]);
    tf.dispose([h, y]);
  });

  it('throws errors that name the kernel: invalid WGSL, bad dispatch, oversized binding', async () => {
    await expect(engine.kernels.compile('test-invalid', {}, 0, 1, false)).rejects.toThrow(/kernel 'test-invalid': WGSL does not compile[\s\S]*undeclared_value/);
    const y = tf.zeros([64]);
    engine.kernels.run('test-invalid', {}, { inputs: [], outputs: [{ inPlace: y }], workgroups: [1] });
    await expect(engine.sync()).rejects.toThrow(KernelError);
    const x = tf.ones([64]);
    expect(() => engine.kernels.run('test-sincos', {}, {
      inputs: [x], outputs: [{ shape: [64] }, { shape: [64] }], uniforms: [['u32', 64]], workgroups: [5],
    })).toThrow(/kernel 'test-sincos': dispatch \[5, 1, 1\] is invalid/);
    expect(() => engine.kernels.code('f16-unpack', { defines: {} }).length).not.toThrow();
    await engine.sync();
    tf.dispose([x, y]);
  });

  it('accounts memory: live, peak, pool purge, and a budget that fails clearly', async () => {
    engine.purgePool();
    engine.resetPeakMemory();
    const base = engine.memory();
    const big = tf.tidy(() => tf.add(tf.zeros([1 << 18]), 1)); // 1 MiB
    await engine.read(big);
    expect(engine.memory().peakLiveBytes).toBeGreaterThanOrEqual(base.liveBytes + (1 << 20));
    big.dispose();
    await engine.sync();
    expect(engine.memory().liveBytes).toBeLessThan(base.liveBytes + (1 << 20));
    expect(engine.purgePool()).toBeGreaterThanOrEqual(1 << 20);
    engine.bridge.budgetBytes = engine.memory().allocatedBytes + (1 << 20);
    try {
      expect(() => tf.tidy(() => tf.add(tf.zeros([1 << 20]), 1))).toThrow(GpuOutOfMemoryError);
    } finally {
      engine.bridge.budgetBytes = Infinity;
    }
  });

  it('times kernels with GPU timestamps', async () => {
    const x = tf.ones([1024]);
    engine.kernels.startProfiling();
    const outs = engine.kernels.run('test-sincos', {}, { inputs: [x], outputs: [{ shape: [1024] }, { shape: [1024] }], uniforms: [['u32', 1024]], workgroups: [4] });
    const times = await engine.kernels.stopProfiling();
    expect(times.get('test-sincos')).toBeGreaterThan(0);
    tf.dispose([x, ...outs]);
  });
});
