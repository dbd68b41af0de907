// Nearest upsampling and channel concatenation (shaders/upsample-nearest.wgsl, concat-channels.wgsl),
// NHWC, vec4 along channels, chunked by rows past the storage binding limit.
import { sliceElements, writeElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { bindingLimit, grid, mapRows, vecFor } from './activations';

const WG = 256;

/** torch's nearest source index (float32 scale, exact for equal and doubled sizes). */
function sourceIndex(dst: number, size: number, outSize: number, scale: number): number {
  if (outSize === size) return dst;
  if (outSize === 2 * size) return dst >> 1;
  return Math.min(Math.floor(Math.fround(dst * scale)), size - 1);
}

export function upsampleNearest(x: tf.Tensor4D, size?: [number, number]): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const [oh, ow] = size ?? [2 * h, 2 * w];
  const scaleY = Math.fround(h / oh);
  const scaleX = Math.fround(w / ow);
  const { V, width } = vecFor(c);
  const cv = c / width;
  const inRowBytes = w * c * 4;
  const outRowBytes = ow * c * 4;
  const limit = bindingLimit();
  const inRow = (row: number) => Math.floor(row / oh) * h + sourceIndex(row % oh, h, oh, scaleY);
  const variant = { defines: { V }, constants: { WG } };
  const run = (xc: tf.Tensor, outRow0: number, rows: number, inRow0: number) => {
    const count = rows * ow * cv;
    const g = grid(count, WG);
    return engine().kernels.run('upsample-nearest', variant, {
      inputs: [xc],
      outputs: [{ shape: rows === b * oh ? [b, oh, ow, c] : [count * width] }],
      uniforms: [
        ['u32', cv], ['u32', h], ['u32', w], ['u32', oh], ['u32', ow], ['u32', outRow0], ['u32', inRow0],
        ['u32', count], ['u32', g[0]], ['f32', scaleY], ['f32', scaleX],
      ],
      workgroups: g,
    })[0];
  };
  return tf.tidy(() => {
    if (x.size * 4 <= limit && b * oh * outRowBytes <= limit) return run(x, 0, b * oh, 0) as tf.Tensor4D;
    const out = engine().bridge.emptyTensor([b, oh, ow, c], 'float32') as tf.Tensor4D;
    const rows = b * oh;
    const step = Math.floor(limit / outRowBytes);
    if (step < 1 || inRowBytes > limit) throw new Error(`upsampleNearest: one row of [${x.shape}] -> [${oh}, ${ow}] exceeds the binding limit`);
    for (let row0 = 0; row0 < rows; ) {
      let n = Math.min(step, rows - row0);
      // Shrink until the input rows this range reads also fit (matters when downsampling).
      while ((inRow(row0 + n - 1) - inRow(row0) + 1) * inRowBytes > limit) n = Math.max(1, Math.floor(n / 2));
      const first = inRow(row0);
      const xc = sliceElements(x, first * w * c, [(inRow(row0 + n - 1) - first + 1) * w * c]);
      const part = run(xc, row0, n, first);
      writeElements(out, part, row0 * ow * c);
      tf.dispose([xc, part]);
      row0 += n;
    }
    return out;
  });
}

export function concatChannels(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, ca] = a.shape;
  const cb = b.shape[3];
  if (b.shape[0] !== n || b.shape[1] !== h || b.shape[2] !== w) throw new Error(`concatChannels: [${a.shape}] and [${b.shape}] differ in more than channels`);
  const { V, width } = ca % 4 === 0 && cb % 4 === 0 ? vecFor(4) : vecFor(1);
  const [av, bv] = [ca / width, cb / width];
  const outShape = [n, h, w, ca + cb];
  const variant = { defines: { V }, constants: { WG } };
  return tf.tidy(
    () =>
      mapRows(n * h * w, [{ t: a, width: ca }, { t: b, width: cb }], ca + cb, outShape, ([ac, bc], _row0, rows) => {
        const count = rows * (av + bv);
        const g = grid(count, WG);
        return engine().kernels.run('concat-channels', variant, {
          inputs: [ac, bc],
          outputs: [{ shape: [rows * (ca + cb)] }],
          uniforms: [['u32', av], ['u32', bv], ['u32', count], ['u32', g[0]]],
          workgroups: g,
        })[0];
      }).reshape(outShape) as tf.Tensor4D,
  );
}
