// conv2d on shaders/conv2d.wgsl (implicit GEMM), NHWC activations, HWIO weights (f32 or packed f16),
// bias and fused residual. 1×1 stride-1 convolutions are plain GEMMs over pixels and go to matmul.wgsl.
// Tensors past the storage binding limit run image by image in chunks of output rows (with the input
// rows their receptive fields need), assembled by buffer copies; grids past the dispatch limit split.
// Gradients (through `differentiable`): dx on shaders/conv2d-grad-input.wgsl (transposed convolution by
// stride parity classes; f16 or f32 weights; 1×1 stride 1 on matmul.wgsl), dW and db on
// shaders/conv2d-grad-weight.wgsl (deterministic split-K and group reductions), the residual's gradient dy.
import { sliceElements, writeElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import type { KernelVariant } from '../engine/kernel-runtime';
import { differentiable } from './autodiff';
import {
  biasGrad, checkBinding, epilogueDefines, rowsGemm, tileFor, tileRuns, tileVariant, weightGrad, weightShape, weightTensor,
  type ConvGeometry, type ConvWindow,
} from './linear';
import type { Conv2dOptions, Weight } from './types';

const F32 = 4;

/** Output rows of one window; x holds input rows win.inRow0.. of each of its images. */
function convWindow(x: tf.Tensor, w: Weight, bias: Weight | undefined, residual: tf.Tensor | undefined, s: ConvGeometry, win: ConvWindow): tf.Tensor {
  const e = engine();
  const tile = tileFor(s.cout);
  const variant: KernelVariant = {
    defines: {
      RM: tile.rm,
      KH: s.kh,
      KW: s.kw,
      STRIDE: s.stride,
      PAD: s.pad,
      A_V4: s.cin % 4 === 0 ? '' : '//',
      A_S: s.cin % 4 === 0 ? '//' : '',
      ...epilogueDefines(w, s.cout, bias, residual !== undefined, s.cout),
    },
    ...tileVariant(tile),
  };
  const inputs = [x, weightTensor(w)];
  if (bias) inputs.push(weightTensor(bias));
  if (residual) inputs.push(residual);
  const m = win.images * win.outRows * s.ow;
  const k = s.kh * s.kw * s.cin;
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  let out: tf.Tensor | undefined;
  for (const [m0, ms] of tileRuns(Math.ceil(m / (tile.wgY * tile.rm)), max))
    for (const [n0, ns] of tileRuns(Math.ceil(s.cout / (tile.wgX * 4)), max)) {
      [out] = e.kernels.run('conv2d', variant, {
        inputs,
        outputs: [out ? { inPlace: out } : { shape: [win.images, win.outRows, s.ow, s.cout] }],
        uniforms: [
          ['u32', m], ['u32', s.cout], ['u32', k], ['u32', s.cin], ['u32', s.h], ['u32', s.w],
          ['u32', win.inRow0], ['u32', win.inRows], ['u32', win.outRow0], ['u32', win.outRows], ['u32', s.ow],
          ['u32', m0], ['u32', n0],
        ],
        workgroups: [ns, ms],
      });
    }
  return out!;
}

/**
 * Windows of output rows whose x rows and dy/y rows each fit one storage binding: all images at once when
 * the whole tensors fit, else image by image in chunks of output rows.
 */
function outputWindows(b: number, s: ConvGeometry): ConvWindow[] {
  const limit = engine().limits.maxStorageBufferBindingSize;
  if (Math.max(b * s.h * s.w * s.cin, b * s.oh * s.ow * s.cout) * F32 <= limit) {
    return [{ image0: 0, images: b, inRow0: 0, inRows: s.h, outRow0: 0, outRows: s.oh }];
  }
  // Output rows per chunk: the chunk and the input rows it reads must each fit one binding.
  const byOut = Math.floor(limit / (s.ow * s.cout * F32));
  const byIn = Math.floor((Math.floor(limit / (s.w * s.cin * F32)) - s.kh) / s.stride) + 1;
  const rows = Math.min(byOut, byIn, s.oh);
  if (rows < 1) throw new Error(`conv2d: one output row of [${b},${s.oh},${s.ow},${s.cout}] needs more than the storage binding limit`);
  const windows: ConvWindow[] = [];
  for (let n = 0; n < b; n++) {
    for (let oy0 = 0; oy0 < s.oh; oy0 += rows) {
      const outRows = Math.min(rows, s.oh - oy0);
      const inRow0 = Math.max(0, oy0 * s.stride - s.pad);
      const inRows = Math.min(s.h, (oy0 + outRows - 1) * s.stride - s.pad + s.kh) - inRow0;
      windows.push({ image0: n, images: 1, inRow0, inRows, outRow0: oy0, outRows });
    }
  }
  return windows;
}

function forward(x: tf.Tensor4D, w: Weight, bias: Weight | undefined, residual: tf.Tensor4D | undefined, s: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const b = x.shape[0];
    const outShape: [number, number, number, number] = [b, s.oh, s.ow, s.cout];
    if (s.kh === 1 && s.kw === 1 && s.stride === 1 && s.pad === 0) {
      const res = residual && tf.reshape(residual, [-1, s.cout]);
      return tf.reshape(rowsGemm(tf.reshape(x, [-1, s.cin]), w, bias, 'none', res), outShape);
    }
    checkBinding('conv2d', 'the weight', weightTensor(w));
    const windows = outputWindows(b, s);
    if (windows.length === 1) return convWindow(x, w, bias, residual, s, windows[0]) as tf.Tensor4D;
    const out = engine().bridge.emptyTensor(outShape, 'float32');
    for (const win of windows) {
      tf.tidy(() => {
        const xPart = sliceElements(x, (win.image0 * s.h + win.inRow0) * s.w * s.cin, [1, win.inRows, s.w, s.cin]);
        const at = (win.image0 * s.oh + win.outRow0) * s.ow * s.cout;
        const resPart = residual && sliceElements(residual, at, [1, win.outRows, s.ow, s.cout]);
        writeElements(out, convWindow(xPart, w, bias, resPart, s, win), at);
      });
    }
    return out as tf.Tensor4D;
  });
}

/** dx rows xRow0 .. xRow0 + xRows (a multiple of the stride) of `images` images, from dy rows dyRow0.. */
interface InputWindow {
  image0: number;
  images: number;
  xRow0: number;
  xRows: number;
  dyRow0: number;
  dyRows: number;
}

/** The output rows that input rows r0 .. r0 + rows reach. */
function dyRowsOf(r0: number, rows: number, s: ConvGeometry): [number, number] {
  const first = Math.max(0, Math.ceil((r0 + s.pad - s.kh + 1) / s.stride));
  const end = Math.min(s.oh, Math.floor((r0 + rows - 1 + s.pad) / s.stride) + 1);
  return [first, Math.max(first, end)];
}

function inputWindows(b: number, s: ConvGeometry): InputWindow[] {
  const limit = engine().limits.maxStorageBufferBindingSize;
  if (Math.max(b * s.h * s.w * s.cin, b * s.oh * s.ow * s.cout) * F32 <= limit) {
    return [{ image0: 0, images: b, xRow0: 0, xRows: s.h, dyRow0: 0, dyRows: s.oh }];
  }
  // Input rows per chunk (a multiple of the stride, so parity classes line up with the image's).
  const byX = Math.floor(limit / (s.w * s.cin * F32));
  const byDy = (Math.floor(limit / (s.ow * s.cout * F32)) - 1) * s.stride - s.kh + 2;
  let rows = Math.min(byX, byDy, s.h);
  if (rows >= s.stride) rows -= rows % s.stride;
  if (rows < s.stride && rows < s.h) throw new Error(`conv2d backward: one input row band of [${b},${s.h},${s.w},${s.cin}] needs more than the storage binding limit`);
  const windows: InputWindow[] = [];
  for (let n = 0; n < b; n++) {
    for (let r0 = 0; r0 < s.h; r0 += rows) {
      const xRows = Math.min(rows, s.h - r0);
      const [d0, d1] = dyRowsOf(r0, xRows, s);
      windows.push({ image0: n, images: 1, xRow0: r0, xRows, dyRow0: d0, dyRows: d1 - d0 });
    }
  }
  return windows;
}

/** dx of one window: one dispatch (or split grid) per stride parity class of its input pixels. */
function gradInputWindow(dy: tf.Tensor, w: Weight, s: ConvGeometry, win: InputWindow): tf.Tensor {
  const e = engine();
  const tile = tileFor(s.cin);
  const variant: KernelVariant = {
    defines: {
      RM: tile.rm,
      KW: s.kw,
      STRIDE: s.stride,
      PAD: s.pad,
      A_V4: s.cout % 4 === 0 ? '' : '//',
      A_S: s.cout % 4 === 0 ? '//' : '',
      ...epilogueDefines(w, s.cout, undefined, false, s.cin),
    },
    ...tileVariant(tile),
  };
  const max = e.limits.maxComputeWorkgroupsPerDimension;
  const taps = (r: number, k: number): [number, number] => {
    const first = (r + s.pad) % s.stride;
    return [first, first < k ? Math.ceil((k - first) / s.stride) : 0];
  };
  let out: tf.Tensor | undefined;
  for (let ry = 0; ry < s.stride; ry++)
    for (let rx = 0; rx < s.stride; rx++) {
      const ch = Math.ceil((win.xRows - ry) / s.stride);
      const cw = Math.ceil((s.w - rx) / s.stride);
      if (ch <= 0 || cw <= 0) continue;
      const [ky0, nky] = taps(ry, s.kh);
      const [kx0, nkx] = taps(rx, s.kw);
      const m = win.images * ch * cw;
      const k = nky * nkx * s.cout;
      for (const [m0, ms] of tileRuns(Math.ceil(m / (tile.wgY * tile.rm)), max))
        for (const [n0, ns] of tileRuns(Math.ceil(s.cin / (tile.wgX * 4)), max)) {
          [out] = e.kernels.run('conv2d-grad-input', variant, {
            inputs: [dy, weightTensor(w)],
            outputs: [out ? { inPlace: out } : { shape: [win.images, win.xRows, s.w, s.cin] }],
            uniforms: [
              ['u32', m], ['u32', s.cin], ['u32', k], ['u32', s.cout], ['u32', s.w], ['u32', s.oh], ['u32', s.ow],
              ['u32', win.dyRow0], ['u32', win.dyRows], ['u32', win.xRow0], ['u32', win.xRows],
              ['u32', ry], ['u32', rx], ['u32', ch], ['u32', cw], ['u32', ky0], ['u32', kx0], ['u32', Math.max(nkx, 1)],
              ['u32', m0], ['u32', n0],
            ],
            workgroups: [ns, ms],
          });
        }
    }
  return out!;
}

/** dx [B, H, W, Cin] of a convolution with gradient dy [B, OH, OW, Cout]. */
function gradInput(dy: tf.Tensor4D, w: Weight, s: ConvGeometry, xShape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const b = xShape[0];
    if (s.kh === 1 && s.kw === 1 && s.stride === 1 && s.pad === 0) {
      return tf.reshape(rowsGemm(tf.reshape(dy, [-1, s.cout]) as tf.Tensor2D, w, undefined, 'none', undefined, true), xShape);
    }
    checkBinding('conv2d backward', 'the weight', weightTensor(w));
    const windows = inputWindows(b, s);
    if (windows.length === 1) return gradInputWindow(dy, w, s, windows[0]);
    const out = engine().bridge.emptyTensor(xShape, 'float32');
    for (const win of windows) {
      tf.tidy(() => {
        const dyPart = win.dyRows > 0 ? sliceElements(dy, (win.image0 * s.oh + win.dyRow0) * s.ow * s.cout, [1, win.dyRows, s.ow, s.cout]) : tf.zeros([1, 1, s.ow, s.cout]);
        writeElements(out, gradInputWindow(dyPart, w, s, win), (win.image0 * s.h + win.xRow0) * s.w * s.cin);
      });
    }
    return out;
  });
}

/** x [B,H,W,Cin], w [kh,kw,Cin,Cout] (HWIO), bias [Cout]; residual [B,OH,OW,Cout] added after the bias. */
export function conv2d(x: tf.Tensor4D, w: Weight, bias: Weight | undefined, opts: Conv2dOptions = {}): tf.Tensor4D {
  const [b, h, wd, cin] = x.shape;
  const [kh, kw, wcin, cout] = weightShape(w);
  const stride = opts.stride ?? 1;
  const pad = opts.padding ?? 0;
  if (wcin !== cin) throw new Error(`conv2d: input has ${cin} channels, weight expects ${wcin}`);
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  if (oh < 1 || ow < 1) throw new Error(`conv2d: ${h}×${wd} input is smaller than the ${kh}×${kw} kernel`);
  const residual = opts.residual;
  if (residual && residual.shape.join() !== [b, oh, ow, cout].join()) {
    throw new Error(`conv2d: residual [${residual.shape}] differs from the output [${[b, oh, ow, cout]}]`);
  }
  const s: ConvGeometry = { h, w: wd, cin, cout, kh, kw, stride, pad, oh, ow };
  return differentiable(
    residual ? [x, residual] : [x],
    [w, bias],
    ([xi, ri], [wi, bi]) => forward(xi as tf.Tensor4D, wi!, bi, ri as tf.Tensor4D | undefined, s),
    (dy, [xi, ri], [wi], trainable) =>
      tf.tidy(() => {
        const dx = gradInput(dy, wi!, s, xi.shape);
        const dw = trainable[0] ? tf.reshape(weightGrad(xi, dy, s, outputWindows(b, s)), [kh, kw, cin, cout]) : undefined;
        const db = trainable[1] ? biasGrad(dy, cout).db : undefined;
        return { inputs: ri ? [dx, tf.clone(dy)] : [dx], weights: [dw, db] };
      }),
  );
}
