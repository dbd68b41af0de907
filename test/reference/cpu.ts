// Plain float64 CPU references for every op (NHWC activations, HWIO conv weights, [in, out] linear
// weights): the oracles that the tfjs reference ops and the WGSL kernels are checked against.
export interface Arr {
  shape: number[];
  data: Float64Array;
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function arr(shape: number[], data?: ArrayLike<number>): Arr {
  const out = new Float64Array(size(shape));
  if (data) out.set(data);
  return { shape, data: out };
}

/** Deterministic uniform(-1, 1) values from a small LCG (tests only need reproducible spread). */
export function random(shape: number[], seed: number, scale = 1): Arr {
  let s = seed >>> 0 || 1;
  const a = arr(shape);
  for (let i = 0; i < a.data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a.data[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

export function conv2d(x: Arr, w: Arr, bias: Arr | undefined, stride: number, pad: number, residual?: Arr): Arr {
  const [b, h, wd, cin] = x.shape;
  const [kh, kw, , cout] = w.shape;
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  const y = arr([b, oh, ow, cout]);
  for (let n = 0; n < b; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let co = 0; co < cout; co++) {
          let acc = bias ? bias.data[co] : 0;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * stride + ky - pad;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * stride + kx - pad;
              if (ix < 0 || ix >= wd) continue;
              const xo = ((n * h + iy) * wd + ix) * cin;
              const wo = (ky * kw + kx) * cin * cout + co;
              for (let ci = 0; ci < cin; ci++) acc += x.data[xo + ci] * w.data[wo + ci * cout];
            }
          }
          const o = ((n * oh + oy) * ow + ox) * cout + co;
          y.data[o] = acc + (residual ? residual.data[o] : 0);
        }
  return y;
}

export function activation(v: number, kind: string): number {
  switch (kind) {
    case 'none':
      return v;
    case 'silu':
      return v / (1 + Math.exp(-v));
    case 'gelu':
      return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'gelu-tanh':
      return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    case 'quick-gelu':
      return v / (1 + Math.exp(-1.702 * v));
    default:
      throw new Error(`unknown activation ${kind}`);
  }
}

/** erf to ~1e-15 by its Taylor series (small |x|) or continued fraction of erfc (large |x|). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

export function map(x: Arr, fn: (v: number, i: number) => number): Arr {
  const y = arr(x.shape);
  for (let i = 0; i < x.data.length; i++) y.data[i] = fn(x.data[i], i);
  return y;
}

export function linear(x: Arr, w: Arr, bias?: Arr, act = 'none'): Arr {
  const [inDim, outDim] = w.shape;
  const rows = x.data.length / inDim;
  const y = arr([...x.shape.slice(0, -1), outDim]);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outDim; o++) {
      let acc = bias ? bias.data[o] : 0;
      for (let i = 0; i < inDim; i++) acc += x.data[r * inDim + i] * w.data[i * outDim + o];
      y.data[r * outDim + o] = activation(acc, act);
    }
  return y;
}

export function attention(q: Arr, k: Arr, v: Arr, heads: number, scale?: number, causal = false): Arr {
  const [b, lq, inner] = q.shape;
  const lk = k.shape[1];
  const d = inner / heads;
  const s = scale ?? 1 / Math.sqrt(d);
  const out = arr(q.shape);
  const scores = new Float64Array(lk);
  for (let n = 0; n < b; n++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < lq; i++) {
        let max = -Infinity;
        for (let j = 0; j < lk; j++) {
          if (causal && j > i) {
            scores[j] = -Infinity;
            continue;
          }
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q.data[(n * lq + i) * inner + h * d + c] * k.data[(n * lk + j) * inner + h * d + c];
          scores[j] = dot * s;
          max = Math.max(max, scores[j]);
        }
        let sum = 0;
        for (let j = 0; j < lk; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        for (let c = 0; c < d; c++) {
          let acc = 0;
          for (let j = 0; j < lk; j++) acc += scores[j] * v.data[(n * lk + j) * inner + h * d + c];
          out.data[(n * lq + i) * inner + h * d + c] = acc / sum;
        }
      }
  return out;
}

export function groupNorm(x: Arr, gamma: Arr, beta: Arr, groups: number, eps: number, silu = false): Arr {
  const b = x.shape[0];
  const c = x.shape[x.shape.length - 1];
  const spatial = x.data.length / b / c;
  const cg = c / groups;
  const y = arr(x.shape);
  for (let n = 0; n < b; n++)
    for (let g = 0; g < groups; g++) {
      let sum = 0;
      let sq = 0;
      for (let p = 0; p < spatial; p++)
        for (let ci = 0; ci < cg; ci++) {
          const v = x.data[(n * spatial + p) * c + g * cg + ci];
          sum += v;
          sq += v * v;
        }
      const count = spatial * cg;
      const mean = sum / count;
      const inv = 1 / Math.sqrt(sq / count - mean * mean + eps);
      for (let p = 0; p < spatial; p++)
        for (let ci = 0; ci < cg; ci++) {
          const ch = g * cg + ci;
          const i = (n * spatial + p) * c + ch;
          const v = (x.data[i] - mean) * inv * gamma.data[ch] + beta.data[ch];
          y.data[i] = silu ? activation(v, 'silu') : v;
        }
    }
  return y;
}

export function layerNorm(x: Arr, gamma: Arr, beta: Arr, eps: number): Arr {
  const c = x.shape[x.shape.length - 1];
  const rows = x.data.length / c;
  const y = arr(x.shape);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < c; i++) mean += x.data[r * c + i];
    mean /= c;
    let variance = 0;
    for (let i = 0; i < c; i++) variance += (x.data[r * c + i] - mean) ** 2;
    variance /= c;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < c; i++) y.data[r * c + i] = (x.data[r * c + i] - mean) * inv * gamma.data[i] + beta.data[i];
  }
  return y;
}

export function geglu(x: Arr): Arr {
  const f = x.shape[x.shape.length - 1] / 2;
  const rows = x.data.length / (2 * f);
  const y = arr([...x.shape.slice(0, -1), f]);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < f; i++) y.data[r * f + i] = x.data[r * 2 * f + i] * activation(x.data[r * 2 * f + f + i], 'gelu');
  return y;
}

/** torch F.interpolate(mode='nearest'): source index floor(dst * in / out). */
export function upsampleNearest(x: Arr, oh: number, ow: number): Arr {
  const [b, h, w, c] = x.shape;
  const y = arr([b, oh, ow, c]);
  for (let n = 0; n < b; n++)
    for (let yy = 0; yy < oh; yy++)
      for (let xx = 0; xx < ow; xx++) {
        const sy = Math.min(h - 1, Math.floor((yy * h) / oh));
        const sx = Math.min(w - 1, Math.floor((xx * w) / ow));
        for (let ch = 0; ch < c; ch++) y.data[((n * oh + yy) * ow + xx) * c + ch] = x.data[((n * h + sy) * w + sx) * c + ch];
      }
  return y;
}

export function concatChannels(a: Arr, b: Arr): Arr {
  const ca = a.shape[3];
  const cb = b.shape[3];
  const pixels = a.data.length / ca;
  const y = arr([...a.shape.slice(0, 3), ca + cb]);
  for (let p = 0; p < pixels; p++) {
    for (let i = 0; i < ca; i++) y.data[p * (ca + cb) + i] = a.data[p * ca + i];
    for (let i = 0; i < cb; i++) y.data[p * (ca + cb) + ca + i] = b.data[p * cb + i];
  }
  return y;
}

/** diffusers get_timestep_embedding. */
export function timestepEmbedding(t: number[], dim: number, flipSinToCos: boolean, shift: number, scale = 1, maxPeriod = 10000): Arr {
  const half = Math.floor(dim / 2);
  const y = arr([t.length, dim]);
  for (let n = 0; n < t.length; n++)
    for (let i = 0; i < half; i++) {
      const arg = scale * t[n] * Math.exp((-Math.log(maxPeriod) * i) / (half - shift));
      const [first, second] = flipSinToCos ? [Math.cos(arg), Math.sin(arg)] : [Math.sin(arg), Math.cos(arg)];
      y.data[n * dim + i] = first;
      y.data[n * dim + half + i] = second;
    }
  return y;
}

export function embedding(ids: number[][], table: Arr): Arr {
  const d = table.shape[1];
  const y = arr([ids.length, ids[0].length, d]);
  ids.flat().forEach((id, r) => {
    for (let i = 0; i < d; i++) y.data[r * d + i] = table.data[id * d + i];
  });
  return y;
}

/** ‖a − b‖ / ‖b‖, the norm-wise relative error the tolerances are stated in. */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i] - expected[i]) ** 2;
    den += expected[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

/** Batched matmul: a [M,K] (or [K,M] with transA), b [K,N] (or [N,K]); a leading batch axis of 1 broadcasts. */
export function matmul(a: Arr, b: Arr, transA = false, transB = false): Arr {
  const [ba, a0, a1] = a.shape.length === 3 ? a.shape : [1, ...a.shape];
  const [bb, b0, b1] = b.shape.length === 3 ? b.shape : [1, ...b.shape];
  const [m, k] = transA ? [a1, a0] : [a0, a1];
  const n = transB ? b0 : b1;
  const batch = Math.max(ba, bb);
  const y = arr(a.shape.length === 3 || b.shape.length === 3 ? [batch, m, n] : [m, n]);
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) {
          const av = a.data[(ba > 1 ? z * m * k : 0) + (transA ? p * m + i : i * k + p)];
          const bv = b.data[(bb > 1 ? z * k * n : 0) + (transB ? j * k + p : p * n + j)];
          acc += av * bv;
        }
        y.data[(z * m + i) * n + j] = acc;
      }
  return y;
}

/** d activation(v) / dv in float64. */
export function activationGrad(v: number, kind: string): number {
  const sigmoid = (u: number) => 1 / (1 + Math.exp(-u));
  switch (kind) {
    case 'none':
      return 1;
    case 'silu': {
      const s = sigmoid(v);
      return s * (1 + v * (1 - s));
    }
    case 'gelu':
      return 0.5 * (1 + erf(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
    case 'gelu-tanh': {
      const c = Math.sqrt(2 / Math.PI);
      const t = Math.tanh(c * (v + 0.044715 * v ** 3));
      return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v);
    }
    case 'quick-gelu': {
      const s = sigmoid(1.702 * v);
      return s + 1.702 * v * s * (1 - s);
    }
    default:
      throw new Error(`unknown activation ${kind}`);
  }
}

/** Gradients of conv2d (same arguments) for the output gradient dy: dx, dw (HWIO), db. */
export function conv2dGrad(x: Arr, w: Arr, dy: Arr, stride: number, pad: number): { dx: Arr; dw: Arr; db: Arr } {
  const [b, h, wd, cin] = x.shape;
  const [kh, kw, , cout] = w.shape;
  const [, oh, ow] = dy.shape;
  const dx = arr(x.shape);
  const dw = arr(w.shape);
  const db = arr([cout]);
  for (let n = 0; n < b; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let co = 0; co < cout; co++) {
          const g = dy.data[((n * oh + oy) * ow + ox) * cout + co];
          db.data[co] += g;
          for (let ky = 0; ky < kh; ky++) {
            const iy = oy * stride + ky - pad;
            if (iy < 0 || iy >= h) continue;
            for (let kx = 0; kx < kw; kx++) {
              const ix = ox * stride + kx - pad;
              if (ix < 0 || ix >= wd) continue;
              const xo = ((n * h + iy) * wd + ix) * cin;
              const wo = (ky * kw + kx) * cin * cout + co;
              for (let ci = 0; ci < cin; ci++) {
                dx.data[xo + ci] += g * w.data[wo + ci * cout];
                dw.data[wo + ci * cout] += g * x.data[xo + ci];
              }
            }
          }
        }
  return { dx, dw, db };
}

/** Gradients of linear (same arguments) for the output gradient dy: dx, dw [in, out], db. */
export function linearGrad(x: Arr, w: Arr, bias: Arr | undefined, act: string, dy: Arr): { dx: Arr; dw: Arr; db: Arr } {
  const [inDim, outDim] = w.shape;
  const rows = x.data.length / inDim;
  const dx = arr(x.shape);
  const dw = arr(w.shape);
  const db = arr([outDim]);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outDim; o++) {
      let z = bias ? bias.data[o] : 0;
      for (let i = 0; i < inDim; i++) z += x.data[r * inDim + i] * w.data[i * outDim + o];
      const dz = dy.data[r * outDim + o] * activationGrad(z, act);
      db.data[o] += dz;
      for (let i = 0; i < inDim; i++) {
        dx.data[r * inDim + i] += dz * w.data[i * outDim + o];
        dw.data[i * outDim + o] += dz * x.data[r * inDim + i];
      }
    }
  return { dx, dw, db };
}

/** Gradients of matmul (same arguments) for the output gradient dy; broadcast operands summed over the batch. */
export function matmulGrad(a: Arr, b: Arr, dy: Arr, transA = false, transB = false): { da: Arr; db: Arr } {
  const [ba, a0, a1] = a.shape.length === 3 ? a.shape : [1, ...a.shape];
  const [bb, b0, b1] = b.shape.length === 3 ? b.shape : [1, ...b.shape];
  const [m, k] = transA ? [a1, a0] : [a0, a1];
  const n = transB ? b0 : b1;
  const batch = Math.max(ba, bb);
  const da = arr(a.shape);
  const db = arr(b.shape);
  for (let z = 0; z < batch; z++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        const g = dy.data[(z * m + i) * n + j];
        for (let p = 0; p < k; p++) {
          const ai = (ba > 1 ? z * m * k : 0) + (transA ? p * m + i : i * k + p);
          const bi = (bb > 1 ? z * k * n : 0) + (transB ? j * k + p : p * n + j);
          da.data[ai] += g * b.data[bi];
          db.data[bi] += g * a.data[ai];
        }
      }
  return { da, db };
}

// ---- Backward references (float64): gradients of the ops above for an output gradient dy ----

export interface NormGrads {
  dx: Arr;
  dgamma: Arr;
  dbeta: Arr;
}

/** GroupNorm (+ SiLU) gradients; LayerNorm is the case of one group per row of [rows, 1, C]. */
export function groupNormGrad(x: Arr, gamma: Arr, beta: Arr, groups: number, eps: number, silu: boolean, dy: Arr): NormGrads {
  const b = x.shape[0];
  const c = x.shape[x.shape.length - 1];
  const spatial = x.data.length / b / c;
  const cg = c / groups;
  const count = spatial * cg;
  const dx = arr(x.shape);
  const dgamma = arr([c]);
  const dbeta = arr([c]);
  const at = (n: number, p: number, ch: number) => (n * spatial + p) * c + ch;
  for (let n = 0; n < b; n++)
    for (let g = 0; g < groups; g++) {
      let mean = 0;
      for (let p = 0; p < spatial; p++) for (let ci = 0; ci < cg; ci++) mean += x.data[at(n, p, g * cg + ci)];
      mean /= count;
      let variance = 0;
      for (let p = 0; p < spatial; p++) for (let ci = 0; ci < cg; ci++) variance += (x.data[at(n, p, g * cg + ci)] - mean) ** 2;
      const rstd = 1 / Math.sqrt(variance / count + eps);
      const xh = (i: number) => (x.data[i] - mean) * rstd;
      const dz = (i: number, ch: number) => dy.data[i] * (silu ? activationGrad(xh(i) * gamma.data[ch] + beta.data[ch], 'silu') : 1);
      let sumA = 0;
      let sumB = 0;
      for (let p = 0; p < spatial; p++)
        for (let ci = 0; ci < cg; ci++) {
          const ch = g * cg + ci;
          const i = at(n, p, ch);
          const d = dz(i, ch);
          dbeta.data[ch] += d;
          dgamma.data[ch] += d * xh(i);
          sumA += d * gamma.data[ch];
          sumB += d * gamma.data[ch] * xh(i);
        }
      for (let p = 0; p < spatial; p++)
        for (let ci = 0; ci < cg; ci++) {
          const ch = g * cg + ci;
          const i = at(n, p, ch);
          dx.data[i] = rstd * (dz(i, ch) * gamma.data[ch] - sumA / count - xh(i) * (sumB / count));
        }
    }
  return { dx, dgamma, dbeta };
}

export function layerNormGrad(x: Arr, gamma: Arr, beta: Arr, eps: number, dy: Arr): NormGrads {
  const c = x.shape[x.shape.length - 1];
  const rows = x.data.length / c;
  const g = groupNormGrad(arr([rows, 1, c], x.data), gamma, beta, 1, eps, false, arr([rows, 1, c], dy.data));
  return { dx: arr(x.shape, g.dx.data), dgamma: g.dgamma, dbeta: g.dbeta };
}

/** GEGLU: d/d[hidden, gate] of hidden * gelu(gate). */
export function gegluGrad(x: Arr, dy: Arr): Arr {
  const f = x.shape[x.shape.length - 1] / 2;
  const rows = x.data.length / (2 * f);
  const dx = arr(x.shape);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < f; i++) {
      const h = x.data[r * 2 * f + i];
      const g = x.data[r * 2 * f + f + i];
      const d = dy.data[r * f + i];
      dx.data[r * 2 * f + i] = d * activation(g, 'gelu');
      dx.data[r * 2 * f + f + i] = d * h * activationGrad(g, 'gelu');
    }
  return dx;
}

/** The gradient of a broadcast operand of `shape`: dy summed over the axes it was broadcast along. */
export function sumToShape(dy: Arr, shape: number[]): Arr {
  const rank = dy.shape.length;
  const padded = [...Array(rank - shape.length).fill(1), ...shape];
  const out = arr(shape);
  for (let i = 0; i < dy.data.length; i++) {
    let rest = i;
    let j = 0;
    let stride = 1;
    for (let k = rank - 1; k >= 0; k--) {
      const coord = rest % dy.shape[k];
      rest = Math.floor(rest / dy.shape[k]);
      if (padded[k] !== 1) j += coord * stride;
      stride *= padded[k];
    }
    out.data[j] += dy.data[i];
  }
  return out;
}

/** Nearest upsampling's gradient: each source pixel gets the sum of dy over its copies. */
export function upsampleNearestGrad(dy: Arr, h: number, w: number): Arr {
  const [b, oh, ow, c] = dy.shape;
  const dx = arr([b, h, w, c]);
  for (let n = 0; n < b; n++)
    for (let yy = 0; yy < oh; yy++)
      for (let xx = 0; xx < ow; xx++) {
        const sy = Math.min(h - 1, Math.floor((yy * h) / oh));
        const sx = Math.min(w - 1, Math.floor((xx * w) / ow));
        for (let ch = 0; ch < c; ch++) dx.data[((n * h + sy) * w + sx) * c + ch] += dy.data[((n * oh + yy) * ow + xx) * c + ch];
      }
  return dx;
}

/** Central differences of a scalar function of x (float64): checks the analytic references above. */
export function centralDifferences(f: (x: Arr) => number, x: Arr, step = 1e-5): Arr {
  const g = arr(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const keep = x.data[i];
    x.data[i] = keep + step;
    const up = f(x);
    x.data[i] = keep - step;
    const down = f(x);
    x.data[i] = keep;
    g.data[i] = (up - down) / (2 * step);
  }
  return g;
}

/**
 * Gradients of attention(q, k, v) (as `attention` above) for the output gradient dout, float64: per row
 * P = softmax(S), dV += Pᵀ dO, dS = P ∘ (dO Vᵀ − rowsum(P ∘ dO Vᵀ)), dQ = scale · dS K, dK += scale · dSᵀ Q.
 */
export function attentionBackward(q: Arr, k: Arr, v: Arr, dout: Arr, heads: number, scale?: number, causal = false): { dq: Arr; dk: Arr; dv: Arr } {
  const [b, lq, inner] = q.shape;
  const lk = k.shape[1];
  const d = inner / heads;
  const s = scale ?? 1 / Math.sqrt(d);
  const dq = arr(q.shape);
  const dk = arr(k.shape);
  const dv = arr(v.shape);
  const p = new Float64Array(lk);
  const dp = new Float64Array(lk);
  for (let n = 0; n < b; n++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < lq; i++) {
        const qi = (n * lq + i) * inner + h * d;
        const keys = causal ? Math.min(i + 1, lk) : lk;
        let max = -Infinity;
        for (let j = 0; j < keys; j++) {
          const kj = (n * lk + j) * inner + h * d;
          let dot = 0;
          let dov = 0;
          for (let c = 0; c < d; c++) {
            dot += q.data[qi + c] * k.data[kj + c];
            dov += dout.data[qi + c] * v.data[kj + c];
          }
          p[j] = dot * s;
          dp[j] = dov;
          max = Math.max(max, p[j]);
        }
        let sum = 0;
        for (let j = 0; j < keys; j++) sum += p[j] = Math.exp(p[j] - max);
        let rowDot = 0;
        for (let j = 0; j < keys; j++) rowDot += (p[j] /= sum) * dp[j];
        for (let j = 0; j < keys; j++) {
          const kj = (n * lk + j) * inner + h * d;
          const ds = p[j] * (dp[j] - rowDot) * s;
          for (let c = 0; c < d; c++) {
            dv.data[kj + c] += p[j] * dout.data[qi + c];
            dk.data[kj + c] += ds * q.data[qi + c];
            dq.data[qi + c] += ds * k.data[kj + c];
          }
        }
      }
  return { dq, dk, dv };
}
