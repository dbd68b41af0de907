// Nearest upsampling and channel concatenation (shaders/upsample-nearest.wgsl, concat-channels.wgsl),
// NHWC, vec4 along channels, chunked by rows past the storage binding limit.
// Gradients (shaders/resample-grad.wgsl): upsampling's is a gather-sum of dy over each source pixel's
// copies (deterministic, no atomics); concat's splits dy into the two channel ranges.
import { sliceElements, writeElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { bindingLimit, grid, mapRows, vecFor } from './activations';
import { differentiable } from './autodiff';

const WG = 256;

/** torch's nearest source index (float32 scale, exact for equal and doubled sizes). */
function sourceIndex(dst: number, size: number, outSize: number, scale: number): number {
  if (outSize === size) return dst;
  if (outSize === 2 * size) return dst >> 1;
  return Math.min(Math.floor(Math.fround(dst * scale)), size - 1);
}

export function upsampleNearest(x: tf.Tensor4D, size?: [number, number]): tf.Tensor4D {
  return differentiable([x], [], ([xi]) => upsampleForward(xi as tf.Tensor4D, size), (dy, [xi]) => ({
    inputs: [upsampleGrad(dy, xi.shape as [number, number, number, number])],
    weights: [],
  }));
}

function upsampleForward(x: tf.Tensor4D, size?: [number, number]): tf.Tensor4D {
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

/**
 * Where each source index's copies start: spans[i] = the first output index whose source is >= i, for
 * i = 0..size (monotone sources make each copy set the range spans[i] .. spans[i + 1] - 1).
 */
function copySpans(size: number, outSize: number): number[] {
  const scale = Math.fround(size / outSize);
  const spans = [0];
  let dst = 0;
  for (let i = 1; i <= size; i++) {
    while (dst < outSize && sourceIndex(dst, size, outSize, scale) < i) dst++;
    spans.push(dst);
  }
  return spans;
}

function upsampleGrad(dy: tf.Tensor4D, [b, h, w, c]: [number, number, number, number]): tf.Tensor4D {
  const [, oh, ow] = dy.shape;
  const { V, width } = vecFor(c);
  const cv = c / width;
  const ys = copySpans(h, oh);
  const rowBytes = w * c * 4;
  const dyRowBytes = ow * c * 4;
  const limit = bindingLimit();
  const variant = { defines: { V }, constants: { WG }, entryPoint: 'upsample' };
  // dy rows [first, end) that dx rows [row0, row0 + n) gather from (at least one row, so it can be bound).
  const dyRows = (row0: number, n: number): [number, number] => {
    const last = row0 + n - 1;
    const first = Math.floor(row0 / h) * oh + ys[row0 % h];
    const end = Math.floor(last / h) * oh + ys[(last % h) + 1];
    return [Math.min(first, b * oh - 1), Math.max(end, Math.min(first, b * oh - 1) + 1)];
  };
  return tf.tidy(() => {
    const spans = tf.tensor1d([...ys, ...copySpans(w, ow)], 'int32');
    /** dx rows [row0, row0 + n) from dy rows [dyRow0, dyEnd) bound as dyc; adds to `into` when given. */
    const run = (dyc: tf.Tensor, row0: number, n: number, dyRow0: number, dyEnd: number, into?: tf.Tensor) => {
      const count = n * w * cv;
      const g = grid(count, WG);
      return engine().kernels.run('resample-grad', variant, {
        inputs: [dyc, spans],
        outputs: [into ? { inPlace: into } : { shape: [count * width] }],
        uniforms: [
          ['u32', cv], ['u32', h], ['u32', w], ['u32', oh], ['u32', ow], ['u32', row0], ['u32', dyRow0], ['u32', dyEnd],
          ['u32', into ? 1 : 0], ['u32', count], ['u32', g[0]],
        ],
        workgroups: g,
      })[0];
    };
    if (dy.size * 4 <= limit && b * h * rowBytes <= limit) return run(dy, 0, b * h, 0, b * oh).reshape([b, h, w, c]) as tf.Tensor4D;
    const out = engine().bridge.emptyTensor([b, h, w, c], 'float32') as tf.Tensor4D;
    const rows = b * h;
    const step = Math.floor(limit / rowBytes);
    const piece = Math.floor(limit / dyRowBytes);
    if (step < 1 || piece < 1) throw new Error(`upsampleNearest gradient: a row of [${b}, ${h}, ${w}, ${c}] <- [${oh}, ${ow}] exceeds the binding limit`);
    for (let row0 = 0; row0 < rows; ) {
      let n = Math.min(step, rows - row0);
      // Fewer dx rows while the dy rows they gather from exceed a binding; one dx row takes several.
      while (n > 1 && dyRows(row0, n)[1] - dyRows(row0, n)[0] > piece) n = Math.max(1, Math.floor(n / 2));
      const [first, end] = dyRows(row0, n);
      let part: tf.Tensor | undefined;
      for (let r0 = first; r0 < end; r0 += piece) {
        const r1 = Math.min(end, r0 + piece);
        const dyc = sliceElements(dy, r0 * ow * c, [(r1 - r0) * ow * c]);
        part = run(dyc, row0, n, r0, r1, part);
        dyc.dispose();
      }
      writeElements(out, part!, row0 * w * c);
      part!.dispose();
      row0 += n;
    }
    return out;
  });
}

export function concatChannels(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  return differentiable([a, b], [], ([ai, bi]) => concatForward(ai as tf.Tensor4D, bi as tf.Tensor4D), (dy, [ai, bi]) => {
    const [ca, cb] = [(ai as tf.Tensor4D).shape[3], (bi as tf.Tensor4D).shape[3]];
    return { inputs: [splitChannels(dy, 0, ca, ai.shape), splitChannels(dy, ca, cb, bi.shape)], weights: [] };
  });
}

/** Channels [c0, c0 + cs) of x [..., C] as a tensor of `shape`. */
function splitChannels(x: tf.Tensor, c0: number, cs: number, shape: number[]): tf.Tensor {
  const total = x.shape[x.shape.length - 1];
  const { V, width } = total % 4 === 0 && c0 % 4 === 0 && cs % 4 === 0 ? vecFor(4) : vecFor(1);
  const variant = { defines: { V }, constants: { WG }, entryPoint: 'split' };
  return tf.tidy(() =>
    mapRows(x.size / total, [{ t: x, width: total }], cs, shape, ([xc], _row0, rows) => {
      const count = (rows * cs) / width;
      const g = grid(count, WG);
      return engine().kernels.run('resample-grad', variant, {
        inputs: [xc],
        outputs: [{ shape: [rows * cs] }],
        uniforms: [['u32', count], ['u32', g[0]], ['u32', total / width], ['u32', c0 / width], ['u32', cs / width]],
        workgroups: g,
      })[0];
    }).reshape(shape),
  );
}

function concatForward(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
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
