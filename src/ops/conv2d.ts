// conv2d on shaders/conv2d.wgsl (implicit GEMM), NHWC activations, HWIO weights (f32 or packed f16),
// bias and fused residual. 1×1 stride-1 convolutions are plain GEMMs over pixels and go to matmul.wgsl.
// Tensors past the storage binding limit run image by image in chunks of output rows (with the input
// rows their receptive fields need), assembled by buffer copies; grids past the dispatch limit split.
import { sliceElements, writeElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import type { KernelVariant } from '../engine/kernel-runtime';
import { checkBinding, epilogueDefines, rowsGemm, sizeOf, tileFor, tileRuns, tileVariant, weightShape, weightTensor } from './linear';
import type { Conv2dOptions, Weight } from './types';

const F32 = 4;

interface ConvShape {
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  stride: number;
  pad: number;
  ow: number;
}

interface Window {
  images: number;
  inRow0: number;
  inRows: number;
  outRow0: number;
  outRows: number;
}

/** Output rows outRow0.. of `images` images, x holding input rows inRow0.. of each. */
function convWindow(x: tf.Tensor, w: Weight, bias: Weight | undefined, residual: tf.Tensor | undefined, s: ConvShape, win: Window): tf.Tensor {
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

/** x [B,H,W,Cin], w [kh,kw,Cin,Cout] (HWIO), bias [Cout]; residual [B,OH,OW,Cout] added after the bias. */
export function conv2d(x: tf.Tensor4D, w: Weight, bias: Weight | undefined, opts: Conv2dOptions = {}): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, wd, cin] = x.shape;
    const [kh, kw, wcin, cout] = weightShape(w);
    const stride = opts.stride ?? 1;
    const pad = opts.padding ?? 0;
    if (wcin !== cin) throw new Error(`conv2d: input has ${cin} channels, weight expects ${wcin}`);
    const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
    const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
    if (oh < 1 || ow < 1) throw new Error(`conv2d: ${h}×${wd} input is smaller than the ${kh}×${kw} kernel`);
    const outShape: [number, number, number, number] = [b, oh, ow, cout];
    const residual = opts.residual;
    if (residual && residual.shape.join() !== outShape.join()) {
      throw new Error(`conv2d: residual [${residual.shape}] differs from the output [${outShape}]`);
    }
    if (kh === 1 && kw === 1 && stride === 1 && pad === 0) {
      const res = residual && tf.reshape(residual, [-1, cout]);
      return tf.reshape(rowsGemm(tf.reshape(x, [-1, cin]), w, bias, 'none', res), outShape);
    }
    checkBinding('conv2d', 'the weight', weightTensor(w));
    const s: ConvShape = { h, w: wd, cin, cout, kh, kw, stride, pad, ow };
    const limit = engine().limits.maxStorageBufferBindingSize;
    if (Math.max(x.size, sizeOf(outShape)) * F32 <= limit) {
      return convWindow(x, w, bias, residual, s, { images: b, inRow0: 0, inRows: h, outRow0: 0, outRows: oh }) as tf.Tensor4D;
    }
    // Output rows per chunk: the chunk and the input rows it reads must each fit one binding.
    const byOut = Math.floor(limit / (ow * cout * F32));
    const byIn = Math.floor((Math.floor(limit / (wd * cin * F32)) - kh) / stride) + 1;
    const rows = Math.min(byOut, byIn, oh);
    if (rows < 1) throw new Error(`conv2d: one output row of [${outShape}] needs more than the storage binding limit`);
    const out = engine().bridge.emptyTensor(outShape, 'float32');
    for (let n = 0; n < b; n++) {
      for (let oy0 = 0; oy0 < oh; oy0 += rows) {
        const outRows = Math.min(rows, oh - oy0);
        const inRow0 = Math.max(0, oy0 * stride - pad);
        const inRows = Math.min(h, (oy0 + outRows - 1) * stride - pad + kh) - inRow0;
        tf.tidy(() => {
          const xPart = sliceElements(x, (n * h + inRow0) * wd * cin, [1, inRows, wd, cin]);
          const resPart = residual && sliceElements(residual, (n * oh + oy0) * ow * cout, [1, outRows, ow, cout]);
          const part = convWindow(xPart, w, bias, resPart, s, { images: 1, inRow0, inRows, outRow0: oy0, outRows });
          writeElements(out, part, (n * oh + oy0) * ow * cout);
        });
      }
    }
    return out as tf.Tensor4D;
  });
}
