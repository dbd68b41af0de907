// Sinusoidal timestep embedding and table lookups (shaders/timestep-embedding.wgsl, embedding.wgsl).
// No gradients, by design: timesteps and token ids are data (integers, or float timesteps nothing is
// trained against), and embedding tables are frozen (the text encoder is never trained here). Their
// outputs are therefore leaves of a gradient tape: gradients stop there, nothing is saved, no gradient
// (not even zeros) is made for an integer input, and the ops run under tf.grads / tf.variableGrads as
// they do outside. A trainable table is refused under a tape rather than silently left untrained.
import { sliceElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { bindingLimit, grid, weightBinding } from './activations';
import { isTrainable } from './autodiff';
import type { TimestepEmbeddingOptions, Weight } from './types';

const WG = 256;
const TWG = 64;

/**
 * The f32 frequency table exp(-ln(max_period) * i / (half - shift)), rounded after every step as torch's
 * f32 ops round: the product, the quotient, the exponential.
 */
export function timestepFrequencies(half: number, shift: number, maxPeriod: number): Float32Array {
  const negLog = Math.fround(-Math.log(maxPeriod));
  const divisor = Math.fround(half - shift);
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) out[i] = Math.exp(Math.fround(Math.fround(negLog * i) / divisor));
  return out;
}

export function timestepEmbedding(t: tf.Tensor1D, dim: number, opts: TimestepEmbeddingOptions): tf.Tensor2D {
  const b = t.shape[0];
  const half = Math.floor(dim / 2);
  return tf.tidy(() => {
    const freq = tf.tensor1d(timestepFrequencies(half, opts.downscaleFreqShift, opts.maxPeriod ?? 10000));
    const count = b * dim;
    const g = grid(count, TWG);
    return engine().kernels.run('timestep-embedding', { defines: { T: t.dtype === 'int32' ? 'i32' : 'f32' }, constants: { WG: TWG } }, {
      inputs: [t, freq],
      outputs: [{ shape: [b, dim] }],
      uniforms: [['u32', count], ['u32', dim], ['u32', half], ['u32', opts.flipSinToCos ? 1 : 0], ['f32', opts.scale ?? 1], ['u32', g[0]]],
      workgroups: g,
    })[0] as tf.Tensor2D;
  });
}

export function embedding(ids: tf.Tensor2D, table: Weight): tf.Tensor3D {
  if (isTrainable(table) && tf.engine().isTapeOn()) {
    throw new Error('embedding: tables are frozen and get no gradient; pass the table as a plain tensor (or a non-trainable variable)');
  }
  const [b, l] = ids.shape;
  const [v, d] = table.shape;
  const { t: words, f16 } = weightBinding(table);
  const halvesPerElement = f16 ? 2 : 1;
  const count = b * l * d;
  const variant = { constants: { WG, F16: Number(f16) } };
  const limit = bindingLimit();
  return tf.tidy(() => {
    const idsI = ids.dtype === 'int32' ? ids : ids.toInt();
    let out: tf.Tensor | undefined;
    const run = (chunk: tf.Tensor, v0: number, vEnd: number, base: number) => {
      const g = grid(count, WG);
      [out] = engine().kernels.run('embedding', variant, {
        inputs: [idsI, chunk],
        outputs: [out ? { inPlace: out } : { shape: [b, l, d] }],
        uniforms: [['u32', count], ['u32', d], ['u32', v0], ['u32', vEnd], ['u32', base], ['u32', v0 === 0 ? 1 : 0], ['u32', g[0]]],
        workgroups: g,
      });
    };
    if (words.size * 4 <= limit) {
      run(words, 0, v, 0);
      return out as tf.Tensor3D;
    }
    // Row ranges of the table; with f16 a range starts on the word holding its first half.
    const step = Math.floor((limit / 4 - 1) * halvesPerElement / d);
    if (step < 1) throw new Error(`embedding: one row of ${d} values exceeds the binding limit`);
    for (let v0 = 0; v0 < v; v0 += step) {
      const vEnd = Math.min(v, v0 + step);
      const first = Math.floor((v0 * d) / halvesPerElement);
      const last = Math.ceil((vEnd * d) / halvesPerElement);
      const chunk = sliceElements(words, first, [last - first]);
      run(chunk, v0, vEnd, first * halvesPerElement);
      chunk.dispose();
    }
    return out as tf.Tensor3D;
  });
}
