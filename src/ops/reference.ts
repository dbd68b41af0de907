// The reference implementation of the op interface, built from tfjs's own ops. Oracles for the WGSL
// kernels and baselines for the benchmarks; also what the models run on before a kernel lands.
import * as tf from '@tensorflow/tfjs';
import { unpackF16 } from '../engine/f16-tensor';
import type { Activation, AttentionOptions, Conv2dOptions, Ops, TimestepEmbeddingOptions, Weight } from './types';

export function asTensor(w: Weight): tf.Tensor {
  return w instanceof tf.Tensor ? w : unpackF16(w);
}

function applyActivation(x: tf.Tensor, kind: Activation): tf.Tensor {
  switch (kind) {
    case 'none':
      return x;
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'gelu': {
      // 0.5 x (1 + erf(x / sqrt 2)), the exact form torch uses by default.
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    }
    case 'gelu-tanh': {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
    }
    case 'quick-gelu':
      return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
  }
}

export const referenceOps: Ops = {
  conv2d(x, w, bias, opts: Conv2dOptions = {}) {
    return tf.tidy(() => {
      const stride = opts.stride ?? 1;
      const pad = opts.padding ?? 0;
      const padded = pad > 0 ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
      let y: tf.Tensor4D = tf.conv2d(padded, asTensor(w) as tf.Tensor4D, stride, 'valid');
      if (bias) y = tf.add(y, asTensor(bias));
      if (opts.residual) y = tf.add(y, opts.residual);
      return y;
    });
  },

  linear(x, w, bias, activation = 'none') {
    return tf.tidy(() => {
      const inDim = x.shape[x.shape.length - 1];
      const wt = asTensor(w);
      const flat = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(flat, wt as tf.Tensor2D);
      if (bias) y = tf.add(y, asTensor(bias));
      y = applyActivation(y, activation);
      return tf.reshape(y, [...x.shape.slice(0, -1), wt.shape[1]!]);
    });
  },

  attention(q, k, v, opts: AttentionOptions) {
    return tf.tidy(() => {
      const [b, lq, inner] = q.shape;
      const lk = k.shape[1];
      const h = opts.heads;
      const d = inner / h;
      const scale = opts.scale ?? 1 / Math.sqrt(d);
      const split = (t: tf.Tensor3D, l: number) => tf.transpose(tf.reshape(t, [b, l, h, d]), [0, 2, 1, 3]);
      let scores = tf.mul(tf.matMul(split(q, lq), split(k, lk), false, true), scale);
      if (opts.causal) {
        const mask = tf.linalg.bandPart(tf.ones([lq, lk]), -1, 0);
        scores = tf.where(tf.cast(mask, 'bool'), scores, tf.fill(scores.shape, -Infinity));
      }
      const out = tf.matMul(tf.softmax(scores), split(v, lk));
      return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, lq, inner]) as tf.Tensor3D;
    });
  },

  groupNorm(x, gamma, beta, groups, eps, silu = false) {
    return tf.tidy(() => {
      const shape = x.shape;
      const c = shape[shape.length - 1];
      const b = shape[0];
      const grouped = tf.reshape(x, [b, -1, groups, c / groups]);
      const { mean, variance } = tf.moments(grouped, [1, 3], true);
      const normed = tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, eps))), shape);
      const y = tf.add(tf.mul(normed, asTensor(gamma)), asTensor(beta));
      return silu ? applyActivation(y, 'silu') : y;
    });
  },

  layerNorm(x, gamma, beta, eps) {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
      return tf.add(tf.mul(normed, asTensor(gamma)), asTensor(beta));
    });
  },

  activation(x, kind) {
    return tf.tidy(() => applyActivation(x, kind));
  },

  geglu(x) {
    return tf.tidy(() => {
      const [hidden, gate] = tf.split(x, 2, -1);
      return tf.mul(hidden, applyActivation(gate, 'gelu'));
    });
  },

  upsampleNearest(x, size) {
    const [, h, w] = x.shape;
    // halfPixelCenters=false with alignCorners=false is torch's 'nearest' (floor(dst * in / out)).
    return tf.image.resizeNearestNeighbor(x, size ?? [h * 2, w * 2], false, false);
  },

  concatChannels(a, b) {
    return tf.concat([a, b], 3);
  },

  timestepEmbedding(t, dim, opts: TimestepEmbeddingOptions) {
    return tf.tidy(() => {
      const half = Math.floor(dim / 2);
      const maxPeriod = opts.maxPeriod ?? 10000;
      const exponent = tf.div(tf.mul(tf.range(0, half, 1, 'float32'), -Math.log(maxPeriod)), half - opts.downscaleFreqShift);
      const args = tf.mul(tf.expandDims(tf.cast(t, 'float32'), 1), tf.expandDims(tf.exp(exponent), 0));
      const scaled = tf.mul(args, opts.scale ?? 1);
      const [sin, cos] = [tf.sin(scaled), tf.cos(scaled)];
      let emb = opts.flipSinToCos ? tf.concat([cos, sin], 1) : tf.concat([sin, cos], 1);
      if (dim % 2 === 1) emb = tf.pad(emb, [[0, 0], [0, 1]]);
      return emb as tf.Tensor2D;
    });
  },

  embedding(ids, table) {
    return tf.tidy(() => {
      const [b, l] = ids.shape;
      const rows = tf.gather(asTensor(table), tf.reshape(ids, [-1]));
      return tf.reshape(rows, [b, l, -1]) as tf.Tensor3D;
    });
  },

  add(a, b) {
    return tf.add(a, b);
  },
};
