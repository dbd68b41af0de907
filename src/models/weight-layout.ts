// PyTorch layouts <-> the layouts our ops read (DESIGN decision 2): linear [out, in] <-> [in, out] (a 1×1
// conv's [out, in, 1, 1] too), conv OIHW <-> HWIO. Loading goes one way, checkpoints and exports the other.
import type { ParamLayout } from '../nn/module';

export interface LayoutOf {
  /** The shape diffusers has for the parameter (PyTorch layout). */
  torchShape: readonly number[];
  layout: ParamLayout;
}

/** Our layout's shape and element order for a parameter stored in PyTorch layout. */
export function toOurLayout<T extends Float32Array | Uint16Array>(p: LayoutOf, data: T): { data: T; shape: number[] } {
  const s = p.torchShape;
  if (p.layout === 'linear') {
    const [out, inp] = s;
    return { data: permute(data, [out, inp], [1, 0]), shape: [inp, out] };
  }
  if (p.layout === 'conv') {
    const [o, i, h, w] = s;
    return { data: permute(data, [o, i, h, w], [2, 3, 1, 0]), shape: [h, w, i, o] };
  }
  return { data, shape: [...s] };
}

/** The inverse of toOurLayout: PyTorch element order, and the PyTorch shape. */
export function toTorchLayout<T extends Float32Array | Uint16Array>(p: LayoutOf, data: T): { data: T; shape: number[] } {
  const s = p.torchShape;
  if (p.layout === 'linear') {
    const [out, inp] = s;
    return { data: permute(data, [inp, out], [1, 0]), shape: [...s] };
  }
  if (p.layout === 'conv') {
    const [o, i, h, w] = s;
    return { data: permute(data, [h, w, i, o], [3, 2, 0, 1]), shape: [...s] };
  }
  return { data, shape: [...s] };
}

/** out[...] = in transposed so that out's axis k is in's axis perm[k] (C order, any rank ≤ 4). */
function permute<T extends Float32Array | Uint16Array>(src: T, shape: number[], perm: number[]): T {
  const inStrides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const outShape = perm.map((p) => shape[p]);
  const strides = perm.map((p) => inStrides[p]);
  while (outShape.length < 4) {
    outShape.unshift(1);
    strides.unshift(0);
  }
  const dst = new (src.constructor as new (n: number) => T)(src.length);
  const [n0, n1, n2, n3] = outShape;
  const [s0, s1, s2, s3] = strides;
  let o = 0;
  for (let a = 0; a < n0; a++)
    for (let b = 0; b < n1; b++)
      for (let c = 0; c < n2; c++) {
        const base = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < n3; d++) dst[o++] = src[base + d * s3];
      }
  return dst;
}
