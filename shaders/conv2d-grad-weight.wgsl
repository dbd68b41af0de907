// conv2d-grad-weight: the weight and bias gradients of conv2d.wgsl and matmul.wgsl's linear layers (a
// linear layer's dW is a 1×1 convolution's), as deterministic reductions: every sum runs in a fixed order
// that depends only on the shapes (no atomics), so a resumed training run reproduces the uninterrupted one.
//
// Entry `main`: dW partials, an implicit GEMM dW = im2col(x)ᵀ · dy split over the pixels (split-K).
//   Layout: x NHWC [B', inRows, W, Cin] (input rows inRow0.. of each image of height H), dy NHWC
//           [B', OHc, OW, Cout] (output rows outRow0..), parts [S, KH·KW·Cin, Cout] (S splits; the
//           wrapper sums them with `reduce`). GEMM view: M = KH·KW·Cin (dW rows: taps outer, channels
//           inner, i.e. HWIO), N = Cout, reduction over the P = B'·OHc·OW pixels of the window; split z
//           takes pixels z·splitLen .. (z+1)·splitLen in order.
//   Tiling: a workgroup computes a TM×TN tile of one split's partial (TM = WG_Y·RM rows, TN = WG_X·4
//           columns), each thread RM rows × 4 columns in vec4 registers; pixels advance TK at a time
//           through As [TK][TM] (x quads along Cin land whole) and Bs [TK][TN] (dy quads along Cout).
//           Dispatch: x = column tiles, y = row tiles, z = splits, offset by nTile0 / mTile0 / split0.
// Entry `bias_partials`: column sums of dy [rows, N] over groups of groupRows rows -> parts [G, N]; with
//   ACT > 0 (a linear layer's fused activation) it first forms dz = dy · act'(z) from the recomputed
//   pre-activation z [rows, N], writes dz and sums that. 64 columns × 4 row lanes per workgroup; each lane
//   sums its rows in order, then the 4 lanes are added in order. Dispatch: x = column blocks, y = groups
//   (offset by block0 / group0).
// Entry `reduce`: out = Σ_s parts[s] (+ prev), s in order, over L elements (vec4 or scalar as RV);
//   flat 2D grid of 256-element blocks.
// Precision: f32 throughout (x, dy, z, gradients and accumulation).
// Template: lines start with a switch that is '' (kept) or '//' (dropped): A_V4 / A_S (x by Cin % 4),
//           B_V4 / B_S (dy by Cout % 4), C_V4 / C_S (parts by Cout % 4) for `main`; HAS_ACT, ACT (0..4 =
//           none, silu, gelu (erf), gelu-tanh, quick-gelu) and B_PART, B_DZ, B_BPARAMS for `bias_partials`;
//           RV (f32 or vec4<f32>), ACC, B_OUT, B_RPARAMS for `reduce`. RM, KW, STRIDE, PAD as conv2d.wgsl.
// Bindings: main: 0 x, 1 dy, 2 parts, 3 uniforms. bias_partials: 0 dy, (1 z), parts, (dz), uniforms.
//           reduce: 0 parts, (1 prev), out, uniforms.

override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TK: u32 = 16u;
const RM: u32 = {{RM}}u;
const KW: u32 = {{KW}}u;
const STRIDE: i32 = {{STRIDE}};
const PAD: i32 = {{PAD}};
const ACT: u32 = {{ACT}}u;

override TM: u32 = WG_Y * RM;
override TN: u32 = WG_X * 4u;
override THREADS: u32 = WG_X * WG_Y;
override A_TILE: u32 = TK * WG_Y * RM / 4u;
override B_TILE: u32 = TK * WG_X;

struct Params {
  M: u32,
  N: u32,
  P: u32,
  Cin: u32,
  H: u32,
  W: u32,
  inRow0: u32,
  inRows: u32,
  outRow0: u32,
  OHc: u32,
  OW: u32,
  splitLen: u32,
  mTile0: u32,
  nTile0: u32,
  split0: u32,
}

{{A_V4}}@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
{{A_S}}@group(0) @binding(0) var<storage, read> X: array<f32>;
{{B_V4}}@group(0) @binding(1) var<storage, read> DY: array<vec4<f32>>;
{{B_S}}@group(0) @binding(1) var<storage, read> DY: array<f32>;
{{C_V4}}@group(0) @binding(2) var<storage, read_write> PARTS: array<vec4<f32>>;
{{C_S}}@group(0) @binding(2) var<storage, read_write> PARTS: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> As: array<vec4<f32>, A_TILE>;
var<workgroup> Bs: array<vec4<f32>, B_TILE>;

struct Origin {
  image: u32,
  iy: i32,
  ix: i32,
}

// The top-left input pixel of output pixel k's receptive field (may lie in the padding), and its image.
fn origin(k: u32) -> Origin {
  let p = params;
  let image = k / (p.OHc * p.OW);
  let r = k - image * p.OHc * p.OW;
  let oy = p.outRow0 + r / p.OW;
  let ox = r % p.OW;
  return Origin(image, i32(oy) * STRIDE - PAD, i32(ox) * STRIDE - PAD);
}

// Element index in X of channel ci at tap (ky, kx) of a receptive field, or -1 in the zero padding.
fn xIndex(o: Origin, tap: u32, ci: u32) -> i32 {
  let p = params;
  let iy = o.iy + i32(tap / KW);
  let ix = o.ix + i32(tap % KW);
  if (iy < 0 || iy >= i32(p.H) || ix < 0 || ix >= i32(p.W)) {
    return -1;
  }
  return ((i32(o.image * p.inRows) + iy - i32(p.inRow0)) * i32(p.W) + ix) * i32(p.Cin) + i32(ci);
}

// dW rows m..m+3 (taps × channels) of pixel o's receptive field; zero in the padding and past M.
fn quadX(o: Origin, m: u32) -> vec4<f32> {
  let p = params;
  {{A_V4}}let tap = m / p.Cin;
  {{A_V4}}let e = xIndex(o, tap, m - tap * p.Cin);
  {{A_V4}}if (e < 0) { return vec4<f32>(0.0); }
  {{A_V4}}return X[u32(e) / 4u];
  {{A_S}}var v = vec4<f32>(0.0);
  {{A_S}}for (var j = 0u; j < min(p.M - m, 4u); j++) {
  {{A_S}}  let tap = (m + j) / p.Cin;
  {{A_S}}  let e = xIndex(o, tap, m + j - tap * p.Cin);
  {{A_S}}  if (e >= 0) { v[j] = X[u32(e)]; }
  {{A_S}}}
  {{A_S}}return v;
}

fn quadDy(e: u32, colsLeft: u32) -> vec4<f32> {
  {{B_V4}}return DY[e / 4u];
  {{B_S}}var v = vec4<f32>(0.0);
  {{B_S}}for (var j = 0u; j < min(colsLeft, 4u); j++) { v[j] = DY[e + j]; }
  {{B_S}}return v;
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let p = params;
  let tid = lid.y * WG_X + lid.x;
  let m0 = (wid.y + p.mTile0) * TM;
  let n0 = (wid.x + p.nTile0) * TN;
  let z = wid.z + p.split0;
  let kBegin = z * p.splitLen;
  let kEnd = min(p.P, kBegin + p.splitLen);

  var acc: array<vec4<f32>, RM>;
  for (var k0 = kBegin; k0 < kEnd; k0 += TK) {
    // x quads (4 channels of one tap) of pixel k0 + kk land whole in As[kk][m].
    for (var q = tid; q < TK * TM / 4u; q += THREADS) {
      let kk = q / (TM / 4u);
      let m = (q % (TM / 4u)) * 4u;
      var v = vec4<f32>(0.0);
      if (k0 + kk < kEnd && m0 + m < p.M) { v = quadX(origin(k0 + kk), m0 + m); }
      As[q] = v;
    }
    // dy quads along Cout land whole in Bs[kk][n].
    for (var q = tid; q < TK * TN / 4u; q += THREADS) {
      let kk = q / WG_X;
      let n = (q % WG_X) * 4u;
      var v = vec4<f32>(0.0);
      if (k0 + kk < kEnd && n0 + n < p.N) { v = quadDy((k0 + kk) * p.N + n0 + n, p.N - n0 - n); }
      Bs[q] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let b = Bs[kk * WG_X + lid.x];
      for (var i = 0u; i < RM; i += 4u) {
        let a = As[(kk * TM + lid.y * RM + i) / 4u];
        acc[i] = fma(vec4<f32>(a.x), b, acc[i]);
        acc[i + 1u] = fma(vec4<f32>(a.y), b, acc[i + 1u]);
        acc[i + 2u] = fma(vec4<f32>(a.z), b, acc[i + 2u]);
        acc[i + 3u] = fma(vec4<f32>(a.w), b, acc[i + 3u]);
      }
    }
    workgroupBarrier();
  }

  let n = n0 + lid.x * 4u;
  if (n >= p.N) {
    return;
  }
  for (var i = 0u; i < RM; i++) {
    let m = m0 + lid.y * RM + i;
    if (m >= p.M) {
      return;
    }
    let e = (z * p.M + m) * p.N + n;
    {{C_V4}}PARTS[e / 4u] = acc[i];
    {{C_S}}for (var j = 0u; j < min(p.N - n, 4u); j++) { PARTS[e + j] = acc[i][j]; }
  }
}

// ---- bias_partials ----

struct BiasParams {
  rows: u32,
  N: u32,
  groupRows: u32,
  group0: u32,
  block0: u32,
}

@group(0) @binding(0) var<storage, read> dyRows: array<f32>;
{{HAS_ACT}}@group(0) @binding(1) var<storage, read> zRows: array<f32>;
@group(0) @binding({{B_PART}}) var<storage, read_write> colParts: array<f32>;
{{HAS_ACT}}@group(0) @binding({{B_DZ}}) var<storage, read_write> dzRows: array<f32>;
@group(0) @binding({{B_BPARAMS}}) var<uniform> bp: BiasParams;

var<workgroup> laneSums: array<f32, 256>;

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

// erf from Numerical Recipes' Chebyshev fit of erfc (as matmul.wgsl): |error| < 1.2e-7 everywhere.
fn erf1(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.5 * a);
  let y = 1.0 - t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return sign(x) * y;
}

// d act(v) / dv for the activations matmul.wgsl fuses.
fn actGrad(v: f32) -> f32 {
  switch ACT {
    case 1u: {
      let s = sigmoid(v);
      return s * (1.0 + v * (1.0 - s));
    }
    // Φ(v) + v·φ(v)
    case 2u: { return 0.5 * (1.0 + erf1(v * 0.70710678118654752)) + v * 0.3989422804014327 * exp(-0.5 * v * v); }
    case 3u: {
      // The forward clamps the tanh argument to ±15, where 1 − t² is 0 in f32 anyway.
      let t = tanh(clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -15.0, 15.0));
      return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * v * v);
    }
    case 4u: {
      let s = sigmoid(1.702 * v);
      return s + 1.702 * v * s * (1.0 - s);
    }
    default: { return 1.0; }
  }
}

@compute @workgroup_size(64, 4, 1)
fn bias_partials(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let n = (wid.x + bp.block0) * 64u + lid.x;
  let g = wid.y + bp.group0;
  let end = min(bp.rows, (g + 1u) * bp.groupRows);
  var sum = 0.0;
  if (n < bp.N) {
    for (var r = g * bp.groupRows + lid.y; r < end; r += 4u) {
      let e = r * bp.N + n;
      var d = dyRows[e];
      {{HAS_ACT}}d *= actGrad(zRows[e]);
      {{HAS_ACT}}dzRows[e] = d;
      sum += d;
    }
  }
  laneSums[lid.y * 64u + lid.x] = sum;
  workgroupBarrier();
  if (lid.y == 0u && n < bp.N) {
    colParts[g * bp.N + n] = ((laneSums[lid.x] + laneSums[64u + lid.x]) + laneSums[128u + lid.x]) + laneSums[192u + lid.x];
  }
}

// ---- reduce ----

alias RV = {{RV}};

struct ReduceParams {
  L: u32,
  S: u32,
  groupsX: u32,
}

@group(0) @binding(0) var<storage, read> splitParts: array<RV>;
{{ACC}}@group(0) @binding(1) var<storage, read> prev: array<RV>;
@group(0) @binding({{B_OUT}}) var<storage, read_write> total: array<RV>;
@group(0) @binding({{B_RPARAMS}}) var<uniform> rp: ReduceParams;

@compute @workgroup_size(256)
fn reduce(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.y * rp.groupsX * 256u + gid.x;
  if (i >= rp.L) {
    return;
  }
  var v = splitParts[i];
  for (var s = 1u; s < rp.S; s++) { v += splitParts[s * rp.L + i]; }
  {{ACC}}v += prev[i];
  total[i] = v;
}
