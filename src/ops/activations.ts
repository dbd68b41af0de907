// Elementwise kernels (shaders/activations.wgsl): activations, GEGLU, add. Also the row chunking that
// the norm, resample and embedding wrappers share: a tensor whose binding would exceed the device's
// maxStorageBufferBindingSize is processed in row ranges copied out with copyBufferToBuffer (copies have
// no binding limit), and the chunk results are copied into one output tensor.
// Gradients (shaders/activations-grad.wgsl): dx = dy * act'(x) recomputed from the saved x; GEGLU's two
// halves in one pass; add passes dy through, summed over a broadcast operand's broadcast axes by
// fixed-order run sums (deterministic, chunked like everything else).
import { sliceElements, writeElements } from '../engine/tensor-copy';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../engine/engine';
import { flatGrid } from '../engine/grid';
import { differentiable } from './autodiff';
import type { Activation, Weight } from './types';

const BYTES = 4;
const WG = 256;

const ACT_CODE: Record<Activation, number> = { none: 0, silu: 1, gelu: 2, 'gelu-tanh': 3, 'quick-gelu': 4 };

/** WGSL element type for a run of `n` floats: vec4 when it divides. */
export function vecFor(n: number): { V: string; width: number } {
  return n % 4 === 0 ? { V: 'vec4<f32>', width: 4 } : { V: 'f32', width: 1 };
}

/** A flat workgroup grid for `items` invocations of `groupSize`, folded to 2D past the dispatch limit. */
export function grid(items: number, groupSize: number): [number, number] {
  return flatGrid(items, groupSize, engine().limits.maxComputeWorkgroupsPerDimension);
}

export function bindingLimit(): number {
  return engine().limits.maxStorageBufferBindingSize;
}

/** An input of mapRows: `width` elements per row are chunked with the rows; `whole` is bound as it is. */
export type RowInput = { t: tf.Tensor; width: number } | { t: tf.Tensor; whole: true };

/**
 * Runs `run(inputs, row0, rows)` on row ranges whose chunked inputs and output fit the binding limit and
 * assembles the outputs (`outWidth` elements per row) into one tensor of `outShape`. Without chunking
 * `run` gets the inputs themselves. Ranges are multiples of `align` rows (except the last).
 */
export function mapRows(
  rows: number,
  inputs: RowInput[],
  outWidth: number,
  outShape: number[],
  run: (inputs: tf.Tensor[], row0: number, rows: number) => tf.Tensor,
  align = 1,
): tf.Tensor {
  const limit = bindingLimit();
  const widths = [outWidth, ...inputs.map((i) => ('whole' in i ? 0 : i.width))];
  const rowBytes = Math.max(...widths) * BYTES;
  for (const i of inputs) {
    if ('whole' in i && i.t.size * BYTES > limit) throw new Error(`a ${i.t.size * BYTES}-byte operand that cannot be chunked exceeds the ${limit}-byte binding limit`);
  }
  if (rows * rowBytes <= limit) return run(inputs.map((i) => i.t), 0, rows);
  const step = Math.floor(limit / rowBytes / align) * align;
  if (step < 1) throw new Error(`one chunk of ${align} rows (${align * rowBytes} bytes) exceeds the ${limit}-byte binding limit`);
  const out = engine().bridge.emptyTensor(outShape, 'float32');
  for (let row0 = 0; row0 < rows; row0 += step) {
    const n = Math.min(step, rows - row0);
    const parts = inputs.map((i) => ('whole' in i ? i.t : sliceElements(i.t, row0 * i.width, [n * i.width])));
    const part = run(parts, row0, n);
    writeElements(out, part, row0 * outWidth);
    tf.dispose([part, ...parts.filter((_, k) => !('whole' in inputs[k]))]);
  }
  return out;
}

export function activation(x: tf.Tensor, kind: Activation): tf.Tensor {
  // clone is a tfjs op: its gradient passes dy through.
  if (kind === 'none') return x.clone();
  return differentiable([x], [], ([xi]) => activationForward(xi, kind), (dy, [xi]) => ({ inputs: [activationGrad(xi, dy, kind)], weights: [] }));
}

function activationForward(x: tf.Tensor, kind: Activation): tf.Tensor {
  return tf.tidy(() => {
    const { V, width } = vecFor(x.size);
    const variant = { defines: { V }, constants: { WG, ACT: ACT_CODE[kind] }, entryPoint: 'act' };
    return mapRows(x.size / width, [{ t: x, width }], width, x.shape, ([xc], _row0, n) => {
      const g = grid(n, WG);
      return engine().kernels.run('activations', variant, {
        inputs: [xc],
        outputs: [{ shape: [n * width] }],
        uniforms: [['u32', n], ['u32', g[0]]],
        workgroups: g,
      })[0];
    }).reshape(x.shape);
  });
}

export function geglu(x: tf.Tensor): tf.Tensor {
  return differentiable([x], [], ([xi]) => gegluForward(xi), (dy, [xi]) => ({ inputs: [gegluGrad(xi, dy)], weights: [] }));
}

function gegluForward(x: tf.Tensor): tf.Tensor {
  const f2 = x.shape[x.shape.length - 1];
  if (f2 % 2 !== 0) throw new Error(`geglu needs an even last dimension, got ${f2}`);
  const f = f2 / 2;
  const outShape = [...x.shape.slice(0, -1), f];
  return tf.tidy(() => {
    const { V, width } = vecFor(f);
    const fv = f / width;
    const variant = { defines: { V }, constants: { WG }, entryPoint: 'geglu' };
    return mapRows(x.size / f2, [{ t: x, width: f2 }], f, outShape, ([xc], _row0, n) => {
      const g = grid(n * fv, WG);
      return engine().kernels.run('activations', variant, {
        inputs: [xc],
        outputs: [{ shape: [n * f] }],
        uniforms: [['u32', n * fv], ['u32', g[0]], ['u32', fv]],
        workgroups: g,
      })[0];
    }).reshape(outShape);
  });
}

/** numpy broadcasting of a and b, collapsed to at most 4 dims: shape and per-operand strides (0 = broadcast). */
function broadcastLayout(as: number[], bs: number[]): { out: number[]; dims: number[]; sa: number[]; sb: number[] } {
  const rank = Math.max(as.length, bs.length);
  const pa = [...Array(rank - as.length).fill(1), ...as];
  const pb = [...Array(rank - bs.length).fill(1), ...bs];
  const out = pa.map((d, i) => {
    if (d !== pb[i] && d !== 1 && pb[i] !== 1) throw new Error(`add: shapes [${as}] and [${bs}] do not broadcast`);
    return Math.max(d, pb[i]);
  });
  // Merge neighbouring dims where each operand is either present in both or broadcast in both.
  const dims: number[] = [];
  const kinds: string[] = [];
  out.forEach((d, i) => {
    if (d === 1) return;
    const kind = `${pa[i] === 1 ? 0 : 1}${pb[i] === 1 ? 0 : 1}`;
    if (kinds.length && kinds[kinds.length - 1] === kind) dims[dims.length - 1] *= d;
    else {
      dims.push(d);
      kinds.push(kind);
    }
  });
  const strides = (which: number) => {
    const s = dims.map(() => 0);
    let acc = 1;
    for (let i = dims.length - 1; i >= 0; i--) {
      if (kinds[i][which] === '1') {
        s[i] = acc;
        acc *= dims[i];
      }
    }
    return s;
  };
  return { out, dims, sa: strides(0), sb: strides(1) };
}

export function add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return differentiable([a, b], [], ([ai, bi]) => addForward(ai, bi), (dy, [ai, bi]) => ({
    inputs: [sumToShape(dy, ai.shape), sumToShape(dy, bi.shape)],
    weights: [],
  }));
}

function addForward(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (sameShape) {
      const { V, width } = vecFor(a.size);
      const variant = { defines: { V }, constants: { WG, BROADCAST: 0 }, entryPoint: 'add' };
      return mapRows(a.size / width, [{ t: a, width }, { t: b, width }], width, a.shape, ([ac, bc], _row0, n) => {
        const g = grid(n, WG);
        return engine().kernels.run('activations', variant, {
          inputs: [ac, bc],
          outputs: [{ shape: [n * width] }],
          uniforms: [['u32', n], ['u32', g[0]], ...Array<['u32', number]>(14).fill(['u32', 0])],
          workgroups: g,
        })[0];
      }).reshape(a.shape);
    }
    const { out, dims, sa, sb } = broadcastLayout(a.shape, b.shape);
    if (dims.length > 4) throw new Error(`add: broadcasting [${a.shape}] with [${b.shape}] needs ${dims.length} > 4 collapsed dims`);
    while (dims.length < 4) {
      dims.unshift(1);
      sa.unshift(0);
      sb.unshift(0);
    }
    const size = out.reduce((x, y) => x * y, 1);
    // vec4 along the innermost dim when both operands are contiguous there.
    const width = dims[3] % 4 === 0 && sa[3] === 1 && sb[3] === 1 ? 4 : 1;
    const V = width === 4 ? 'vec4<f32>' : 'f32';
    const d = dims.map((x, i) => (i === 3 ? x / width : x));
    const [va, vb] = [sa, sb].map((s) => s.map((x, i) => (i === 3 ? x : x / width)));
    const aFull = a.size === size;
    const bFull = b.size === size;
    const variant = { defines: { V }, constants: { WG, BROADCAST: 1 }, entryPoint: 'add' };
    const inputs: RowInput[] = [aFull ? { t: a, width } : { t: a, whole: true }, bFull ? { t: b, width } : { t: b, whole: true }];
    return mapRows(size / width, inputs, width, out, ([ac, bc], row0, n) => {
      const g = grid(n, WG);
      return engine().kernels.run('activations', variant, {
        inputs: [ac, bc],
        outputs: [{ shape: [n * width] }],
        uniforms: [
          ['u32', n],
          ['u32', g[0]],
          ['u32', row0],
          ['u32', d[1]],
          ['u32', d[2]],
          ['u32', d[3]],
          ...[...va, ...vb].map((s): ['u32', number] => ['u32', s]),
          ['u32', aFull ? row0 : 0],
          ['u32', bFull ? row0 : 0],
        ],
        workgroups: g,
      })[0];
    }).reshape(out);
  });
}

function activationGrad(x: tf.Tensor, dy: tf.Tensor, kind: Activation): tf.Tensor {
  return tf.tidy(() => {
    const { V, width } = vecFor(x.size);
    const variant = { defines: { V }, constants: { WG, ACT: ACT_CODE[kind] }, entryPoint: 'act' };
    return mapRows(x.size / width, [{ t: x, width }, { t: dy, width }], width, x.shape, ([xc, dyc], _row0, n) => {
      const g = grid(n, WG);
      return engine().kernels.run('activations-grad', variant, {
        inputs: [xc, dyc],
        outputs: [{ shape: [n * width] }],
        uniforms: [['u32', n], ['u32', g[0]]],
        workgroups: g,
      })[0];
    }).reshape(x.shape);
  });
}

function gegluGrad(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const f2 = x.shape[x.shape.length - 1];
  const f = f2 / 2;
  return tf.tidy(() => {
    const { V, width } = vecFor(f);
    const fv = f / width;
    const variant = { defines: { V }, constants: { WG }, entryPoint: 'geglu' };
    return mapRows(x.size / f2, [{ t: x, width: f2 }, { t: dy, width: f }], f2, x.shape, ([xc, dyc], _row0, n) => {
      const g = grid(n * fv, WG);
      return engine().kernels.run('activations-grad', variant, {
        inputs: [xc, dyc],
        outputs: [{ shape: [n * f2] }],
        uniforms: [['u32', n * fv], ['u32', g[0]], ['u32', fv]],
        workgroups: g,
      })[0];
    }).reshape(x.shape);
  });
}

/** Rows summed per run sum pass (a longer axis takes several passes: a tree of fixed shape). */
const RUN = 64;

/**
 * The gradient of an operand of `shape` broadcast to dy's shape: dy summed over the broadcast axes, in a
 * fixed order. Axes collapse to alternating kept / summed runs; each summed axis (innermost first) is
 * reduced as x [A, R, C] -> [A, C] by run sums of at most RUN rows, repeated until one run is left.
 */
export function sumToShape(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const rank = dy.shape.length;
  const padded = [...Array(rank - shape.length).fill(1), ...shape];
  const dims: number[] = [];
  const summed: boolean[] = [];
  dy.shape.forEach((d, i) => {
    if (d === 1) return;
    const s = padded[i] === 1;
    if (summed.length && summed[summed.length - 1] === s) dims[dims.length - 1] *= d;
    else {
      dims.push(d);
      summed.push(s);
    }
  });
  if (!summed.includes(true)) return dy.reshape(shape);
  return tf.tidy(() => {
    let t = dy;
    while (summed.includes(true)) {
      const i = summed.lastIndexOf(true);
      const prod = (xs: number[]) => xs.reduce((p, q) => p * q, 1);
      let rows = dims[i];
      const a = prod(dims.slice(0, i));
      const c = prod(dims.slice(i + 1));
      while (rows > 1) {
        const next = sumRuns(t, a, rows, c);
        if (t !== dy) t.dispose();
        t = next.sums;
        rows = next.runs;
      }
      dims.splice(i, 1);
      summed.splice(i, 1);
      // Neighbouring kept axes now touch: merge them.
      for (let k = dims.length - 1; k > 0; k--) {
        if (!summed[k] && !summed[k - 1]) {
          dims[k - 1] *= dims[k];
          dims.splice(k, 1);
          summed.splice(k, 1);
        }
      }
    }
    return t.reshape(shape);
  });
}

/** x [A, R, C] -> sums [A, runs, C]: sums of runs of up to RUN rows, in row order. */
function sumRuns(x: tf.Tensor, a: number, rows: number, c: number): { sums: tf.Tensor; runs: number } {
  const { V, width } = vecFor(c);
  const cv = c / width;
  const rowBytes = c * BYTES;
  const limit = bindingLimit();
  if (rowBytes > limit) throw new Error(`add gradient: a row of ${c} values exceeds the ${limit}-byte binding limit`);
  const run = Math.max(1, Math.min(RUN, rows, Math.floor(limit / rowBytes)));
  const runs = Math.ceil(rows / run);
  const outRows = a * runs;
  const variant = { defines: { V }, constants: { WG }, entryPoint: 'runsum' };
  const dispatch = (xc: tf.Tensor, j0: number, n: number, rowOffset: number) => {
    const g = grid(n * cv, WG);
    return engine().kernels.run('activations-grad', variant, {
      inputs: [xc],
      outputs: [{ shape: [n * c] }],
      uniforms: [['u32', n * cv], ['u32', g[0]], ['u32', cv], ['u32', rows], ['u32', run], ['u32', runs], ['u32', j0], ['u32', rowOffset]],
      workgroups: g,
    })[0];
  };
  if (x.size * BYTES <= limit) return { sums: dispatch(x, 0, outRows, 0), runs };
  // Output rows j in ranges whose input rows (at most `run` each, contiguous) fit one binding.
  const out = engine().bridge.emptyTensor([outRows * c], 'float32');
  const step = Math.floor(limit / (run * rowBytes));
  const first = (j: number) => Math.floor(j / runs) * rows + (j % runs) * run;
  const end = (j: number) => Math.min(first(j) + run, (Math.floor(j / runs) + 1) * rows);
  for (let j0 = 0; j0 < outRows; j0 += step) {
    const n = Math.min(step, outRows - j0);
    const r0 = first(j0);
    const xc = sliceElements(x, r0 * c, [(end(j0 + n - 1) - r0) * c]);
    const part = dispatch(xc, j0, n, r0);
    writeElements(out, part, j0 * c);
    tf.dispose([xc, part]);
  }
  return { sums: out, runs };
}

/** A weight as its binding: f32 tensor, or packed f16 halves (array<u32> + unpack2x16float in WGSL). */
export function weightBinding(w: Weight): { t: tf.Tensor; f16: boolean } {
  return w instanceof tf.Tensor ? { t: w, f16: false } : { t: w.packed, f16: true };
}
